import { RoamError } from '../errors.ts';
import { sharedGpuService } from './bridge/client.ts';
import { checkQuotaChange, type GpuQuotaChange } from './host.ts';

/** Largest request body the quota route reads, bytes. */
export const QUOTA_BODY_LIMIT = 1024;

/**
 * Parses and checks a quota change from the control API: a JSON object with any of `share`
 * (0 < share ≤ 1), `memoryMiB` (0 < MiB ≤ 1048576), `latencyMs` (0 < ms ≤ 60000) and nothing else.
 * Throws E_BAD_REQUEST (HTTP 400) naming what is wrong.
 */
export function parseGpuQuota(fn: string, body: Uint8Array): GpuQuotaChange {
  if (body.length > QUOTA_BODY_LIMIT) throw new RoamError('E_BAD_REQUEST', `gpu quota body is ${body.length} bytes; at most ${QUOTA_BODY_LIMIT}`);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(body));
  } catch (e) {
    throw new RoamError('E_BAD_REQUEST', `gpu quota is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RoamError('E_BAD_REQUEST', 'gpu quota must be a JSON object like {"share": 0.3, "memoryMiB": 64, "latencyMs": 20}');
  const keys = Object.keys(v);
  const unknown = keys.filter((k) => !['share', 'memoryMiB', 'latencyMs'].includes(k));
  if (unknown.length) throw new RoamError('E_BAD_REQUEST', `gpu quota has unknown field(s) ${unknown.join(', ')}; allowed: share, memoryMiB, latencyMs`);
  if (keys.length === 0) throw new RoamError('E_BAD_REQUEST', 'gpu quota names none of share, memoryMiB, latencyMs');
  const q = v as GpuQuotaChange;
  try {
    checkQuotaChange(fn, q);
  } catch (e) {
    throw new RoamError('E_BAD_REQUEST', (e as Error).message);
  }
  return q;
}

/**
 * Sets a function's gpu quota on this process's gpu service (started if nothing used the gpu yet),
 * without blocking the caller's thread. `fn` is the gpu function id, `tenant/bundle`. Resolves with
 * the quota in force. For the control API (`PUT /v1/gpu/NAME`); only the main thread may call it.
 */
export function setGpuQuota(fn: string, change: GpuQuotaChange): Promise<GpuQuotaChange> {
  return sharedGpuService().setQuota(fn, change);
}
