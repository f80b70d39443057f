/**
 * Hops to functions in other processes or hosts: a chain step named by URL (`http://host:port/fn/NAME`).
 * Co-located hops stay in the worker; at a remote step the worker hands the encoded request back, the
 * gateway sends it over HTTP (keep-alive Pool per origin), and the chain goes on in a worker with the
 * answer. The payload moves only at that hop.
 */
import { Pool } from 'undici';
import { RoamError } from '../errors.ts';
import { decodeRequest, encodeResponse } from '../runtime/http-abi.ts';
import { RemoteAllow } from './remote-allow.ts';

export const isRemote = (step: string): boolean => /^https?:\/\//i.test(step);

/** Checks a remote step's URL up front (at deploy or PUT), so a typo is a 400, not a failed hop later. */
export function checkRemote(step: string): void {
  let u: URL;
  try {
    u = new URL(step);
  } catch {
    throw new RoamError('E_CHAIN', `remote step '${step}' is not a valid URL`);
  }
  if (u.search || u.hash) throw new RoamError('E_CHAIN', `remote step '${step}' must not carry a query or fragment`);
}

const NOT_SENT = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'keep-alive']);

export class RemoteHops {
  private readonly pools = new Map<string, Pool>();

  /** `allow`: the hosts steps may reach (remote-allow.ts); none by default. */
  constructor(private readonly timeoutMs: number, readonly allow: RemoteAllow = new RemoteAllow()) {}

  /** Sends an encoded hop request to `url` (+ the request's path); returns the answer as an encoded response. */
  async call(url: string, encoded: Uint8Array): Promise<Uint8Array> {
    this.allow.check(url);
    const req = decodeRequest(encoded);
    const u = new URL(url);
    let pool = this.pools.get(u.origin);
    if (!pool) this.pools.set(u.origin, (pool = new Pool(u.origin, { connections: 16, pipelining: 1, connect: { lookup: this.allow.lookup } })));
    const headers: Record<string, string> = {};
    for (const [n, v] of req.headers) if (!NOT_SENT.has(n.toLowerCase())) headers[n] = v;
    try {
      const r = await pool.request({ path: u.pathname.replace(/\/$/, '') + req.path, method: 'POST', headers, body: req.body, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
      const body = new Uint8Array(await r.body.arrayBuffer());
      const hs: Array<[string, string]> = [];
      for (const [n, v] of Object.entries(r.headers)) if (v !== undefined) hs.push([n, Array.isArray(v) ? v.join(', ') : v]);
      return encodeResponse({ status: r.statusCode, headers: hs, body });
    } catch (e) {
      throw new RoamError('E_REMOTE', `remote hop to ${url} failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
  }
}
