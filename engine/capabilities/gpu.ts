import type { MessagePort } from 'node:worker_threads';
import { RoamError } from '../errors.ts';
import type { Capability, GuestContext } from './capability.ts';
import { GpuClient } from '../gpu/bridge/client.ts';
import { sharedGpuClient } from '../gpu/bridge/process-channel.ts';
import type { GpuFunctionQuota } from '../gpu/host.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { gpuStatsForServer, registerGpuMetrics } from '../gpu/metrics.ts';
import { parseGpuQuota, QUOTA_BODY_LIMIT, setGpuQuota } from '../gpu/quota.ts';

/** Quota for a bundle that declares the `gpu` capability without a `gpu` section. */
export const DEFAULT_GPU_QUOTA: GpuFunctionQuota = { share: 0.1, memoryMiB: 64 };

/** The gpu function id of a bundle: quotas, stats and device memory are kept per `tenant/bundle`. */
const gpuFunction = (m: Manifest) => `${m.tenant}/${m.name}`;

/**
 * The `gpu` section: `{ "share": (0, 1], "memoryMiB": MiB, "latencyMs"?: (0, 60000] }` — the bundle's
 * share of the device's time, its memory cap and its batching bound.
 */
export function parseGpuSection(raw: unknown): GpuFunctionQuota {
  const bad = (m: string): never => {
    throw new RoamError('E_MANIFEST', `manifest: ${m}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('gpu must be an object');
  const g = raw as Record<string, unknown>;
  for (const k of Object.keys(g)) if (!['share', 'memoryMiB', 'latencyMs'].includes(k)) bad(`gpu.${k} is not a gpu quota field (share, memoryMiB, latencyMs)`);
  const share = g.share;
  if (typeof share !== 'number' || !(share > 0 && share <= 1)) bad('gpu.share must be a number in (0, 1]');
  const mem = g.memoryMiB;
  if (typeof mem !== 'number' || !Number.isInteger(mem) || mem < 1 || mem > 1 << 20) bad('gpu.memoryMiB must be an integer in 1..1048576');
  const q: GpuFunctionQuota = { share: share as number, memoryMiB: mem as number };
  const lat = g.latencyMs;
  if (lat !== undefined) {
    if (typeof lat !== 'number' || !(lat > 0 && lat <= 60_000)) bad('gpu.latencyMs must be a number of milliseconds in (0, 60000]');
    q.latencyMs = lat as number;
  }
  return q;
}
const MAX_LIST = 16;

interface InstanceState {
  fn: string;
  /** Buffers this instance created and has not freed; released if the instance goes away. */
  buffers: Set<number>;
}

// An instance that trapped in guest code is dropped by its pool without telling us: free its
// buffers when it is collected (the memory cap bounds what it can hold until then).
const orphans = new FinalizationRegistry<{ client: GpuClient; fn: string; ids: Set<number> }>(({ client, fn, ids }) => {
  try {
    if (ids.size) client.call('release', fn, [...ids]);
  } catch {
    /* the service is gone; nothing left to free */
  }
});

/**
 * roam:gpu — device buffers, copies and kernels (guest-sdk/assembly/gpu.ts), on the device and
 * under the quota of the process's one gpu service, whichever thread the guest runs on (worker
 * threads reach it over the process channel, see gpu/bridge/client.ts). The function's identity for quotas is
 * `tenant/bundle`. Errors trap the call with a clear RoamError (E_GPU_*), after this instance's
 * buffers are freed (the pool replaces a trapped instance).
 */
export function createGpuCapability(connect: () => GpuClient = sharedGpuClient): Capability {
  return {
    name: 'gpu',
    module: 'roam:gpu',
    functions: {
      device_kind: '()->i32',
      buffer_create: '(i32)->i32',
      buffer_destroy: '(i32)->()',
      upload: '(i32,i32,i32,i32)->()',
      download: '(i32,i32,i32,i32)->()',
      dispatch: '(i32,i32,i32,i32,i32)->()',
      compile: '(i32,i32,i32,i32,i32)->i32',
    },
    section: parseGpuSection,
    // A quota changed at run time (HAS-GPU's vertical scaling): applied within one scheduling window.
    control: (m, body) => {
      if (body.length > QUOTA_BODY_LIMIT) throw new RoamError('E_BAD_REQUEST', `gpu quota body is ${body.length} bytes; at most ${QUOTA_BODY_LIMIT}`);
      const fn = gpuFunction(m);
      return setGpuQuota(fn, parseGpuQuota(fn, body)).then((quota) => ({ function: fn, quota }));
    },
    stats: (tenant) => gpuStatsForServer(tenant),
    metrics: (registry) => registerGpuMetrics(registry),
    imports(ctx: GuestContext) {
      let client: GpuClient | undefined;
      let st: InstanceState | undefined;
      const open = (): { c: GpuClient; s: InstanceState } => {
        if (!client || !st) {
          client = connect();
          const m = ctx.manifest;
          st = { fn: gpuFunction(m), buffers: new Set() };
          client.call('register', st.fn, (m.sections?.gpu as GpuFunctionQuota | undefined) ?? DEFAULT_GPU_QUOTA);
          ctx.state.set('gpu', st);
          orphans.register(ctx, { client, fn: st.fn, ids: st.buffers });
        }
        return { c: client, s: st };
      };
      // Any failure traps the call; the instance is then discarded, so free what it holds first.
      const guard = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => {
        try {
          return f(...a);
        } catch (e) {
          if (client && st?.buffers.size) {
            try {
              client.call('release', st.fn, [...st.buffers]);
              st.buffers.clear();
            } catch {
              /* keep the original error */
            }
          }
          throw e;
        }
      };
      const i32s = (ptr: number, n: number, what: string): number[] => {
        if (n < 0 || n > MAX_LIST) throw new RoamError('E_GPU_ARG', `gpu dispatch: ${what} count ${n} is not in 0..${MAX_LIST}`);
        const b = ctx.bytes(ptr >>> 0, n * 4);
        return Array.from(new Int32Array(b.slice().buffer));
      };
      const text = (ptr: number, len: number) => Buffer.from(ctx.bytes(ptr >>> 0, len >>> 0)).toString('utf8');
      return {
        device_kind: guard(() => (open().c.call('info').kind === 'webgpu' ? 1 : 0)),
        buffer_create: guard((bytes: number) => {
          const { c, s } = open();
          const id = c.call('create', s.fn, bytes);
          s.buffers.add(id);
          return id;
        }),
        buffer_destroy: guard((id: number) => {
          const { c, s } = open();
          c.call('destroy', s.fn, id);
          s.buffers.delete(id);
        }),
        upload: guard((id: number, offset: number, ptr: number, len: number) => {
          const { c, s } = open();
          c.call('write', s.fn, id, offset, ctx.bytes(ptr >>> 0, len >>> 0).slice());
        }),
        download: guard((id: number, offset: number, ptr: number, len: number) => {
          const { c, s } = open();
          const dst = ctx.bytes(ptr >>> 0, len >>> 0);
          dst.set(c.call('read', s.fn, id, offset, len >>> 0));
        }),
        dispatch: guard((kernel: number, bufPtr: number, nbuf: number, paramPtr: number, nparam: number) => {
          const { c, s } = open();
          c.call('dispatch', s.fn, kernel, i32s(bufPtr, nbuf, 'buffer'), i32s(paramPtr, nparam, 'param'));
        }),
        compile: guard((srcPtr: number, srcLen: number, entryPtr: number, entryLen: number, nbuf: number) => {
          const { c, s } = open();
          return c.call('compile', s.fn, text(srcPtr, srcLen), text(entryPtr, entryLen), nbuf);
        }),
      };
    },
  };
}

/**
 * The capability for a thread whose guests share another thread's device: pass it a port from
 * that thread's `GpuService.port()` (e.g. a host-place worker given the main thread's service).
 */
export function gpuCapabilityOverPort(port: MessagePort): Capability {
  let client: GpuClient | undefined;
  return createGpuCapability(() => (client ??= GpuClient.overPort(port)));
}

/** The capability on the process-wide gpu service (started on a guest's first gpu call). */
export const gpu: Capability = createGpuCapability();
