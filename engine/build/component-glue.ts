/**
 * The JS that wraps a user's handler module inside a component (world roam:function/function).
 * It adapts `export default { fetch(request) }` (or a default-exported function) to the WIT
 * `handler.handle(request) -> response`, routes `console.*` to the `log` capability, and turns
 * a thrown error into a 500 carrying the reason, so a throwing handler never traps the instance.
 */
export function glueSource(userEntry: string, witPackage: string): string {
  return `import user from ${JSON.stringify(userEntry)};
import { log } from '${witPackage.replace('@', '/log@')}';
const enc = new TextEncoder();
const dec = new TextDecoder();
const fmt = (args) => args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? String(a.stack || a) : JSON.stringify(a))).join(' ');
const sink = (...args) => log(fmt(args));
globalThis.console = { log: sink, info: sink, warn: sink, error: sink, debug: sink };

const fetchFn = typeof user === 'function' ? user : user && typeof user.fetch === 'function' ? user.fetch.bind(user) : null;

function toRequest(r) {
  const headers = new Map(r.headers.map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: r.method, path: r.path, url: r.path, headers, body: r.body,
    text() { return dec.decode(r.body); },
    json() { return JSON.parse(dec.decode(r.body)); },
  };
}

function bytesOf(body, headers) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return enc.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (!headers.some(([k]) => k.toLowerCase() === 'content-type')) headers.push(['content-type', 'application/json']);
  return enc.encode(JSON.stringify(body));
}

function toResponse(out) {
  if (out === undefined || out === null) return { status: 204, headers: [], body: new Uint8Array(0) };
  if (typeof out.then === 'function') throw new Error('handler returned a Promise: async handlers need JSPI, which Node 20 lacks; return the response synchronously');
  if (typeof out === 'string') return { status: 200, headers: [['content-type', 'text/plain; charset=utf-8']], body: enc.encode(out) };
  const status = out.status ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error('handler returned an invalid status ' + String(status));
  const h = out.headers ?? {};
  const headers = (Array.isArray(h) ? h : Object.entries(h)).map(([k, v]) => [String(k), String(v)]);
  return { status, headers, body: bytesOf(out.body, headers) };
}

export const handler = {
  handle(req) {
    try {
      if (!fetchFn) throw new Error('the entry module exports no handler: export default { fetch(request) { ... } }');
      return toResponse(fetchFn(toRequest(req)));
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      log('handler threw: ' + reason);
      return { status: 500, headers: [['content-type', 'text/plain; charset=utf-8'], ['x-roam-error', 'E_HANDLER']], body: enc.encode('handler threw: ' + reason) };
    }
  },
};
`;
}
