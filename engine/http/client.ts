/** A small client for the gateway's control and invoke APIs (undici `request`, used by the CLI). */
import { request } from 'undici';
import { RoamError } from '../errors.ts';

export interface ClientOptions {
  server: string;
  token?: string | undefined;
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class GatewayClient {
  constructor(private readonly opts: ClientOptions) {}

  async send(method: string, path: string, body?: Uint8Array | string, headers: Record<string, string> = {}): Promise<HttpReply> {
    const h: Record<string, string> = { ...headers };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(new URL(path, this.opts.server), { method: method as 'GET', headers: h, ...(body !== undefined ? { body } : {}) });
    } catch (e) {
      throw new RoamError('E_CONNECT', `cannot reach ${this.opts.server}: ${(e as Error).message}`);
    }
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  }

  /** Control API call that must succeed; returns parsed JSON or throws the server's message. */
  async control<T = unknown>(method: string, path: string, body?: Uint8Array | string): Promise<T> {
    const r = await this.send(method, path, body, typeof body === 'string' ? { 'content-type': 'application/json' } : {});
    let json: { error?: string; message?: string } & Record<string, unknown>;
    try {
      json = JSON.parse(r.body.toString('utf8'));
    } catch {
      throw new RoamError('E_PROTOCOL', `${method} ${path}: HTTP ${r.status} with a non-JSON body`);
    }
    if (r.status >= 400) throw new RoamError(json.error ?? 'E_HTTP', `${json.message ?? `HTTP ${r.status}`} (HTTP ${r.status})`);
    return json as T;
  }
}

/** Server URL and token from flags or the environment (ROAM_SERVER, ROAM_TOKEN). */
export function clientFrom(values: { server?: string | undefined; token?: string | undefined }): GatewayClient {
  return new GatewayClient({ server: values.server ?? process.env.ROAM_SERVER ?? 'http://127.0.0.1:8080', token: values.token ?? process.env.ROAM_TOKEN });
}
