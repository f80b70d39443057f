/**
 * The dashboard's HTTP face, mounted by the gateway under /ui: the page and its assets (public: they hold
 * no data) and /ui/stream, Server-Sent Events with one tick every 250 ms. The stream takes the same bearer
 * tokens as the control API in the `Authorization` header (the page reads it with fetch, so the token
 * never appears in a URL or a log line); a tenant's token sees only that tenant's rows.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RoamError } from '../errors.ts';
import type { Dashboard, Subscriber } from './dashboard.ts';

/** Who may watch: the caller's tenant (null = admin), or throws E_UNAUTHORIZED. */
export type Authorize = (req: IncomingMessage) => { tenant: string | null };

/** Pages streaming at once; more get 429 (each costs a JSON text per tick and a socket). */
export const MAX_STREAMS = 64;
/** A page that reads slower than it is fed skips ticks; past this much unsent it is cut off. */
const MAX_BUFFERED = 4 << 20;

const here = (f: string) => new URL(`./static/${f}`, import.meta.url);
const uplot = (f: string) => createRequire(import.meta.url).resolve(`uplot/dist/${f}`);
const ASSETS: Record<string, { file: URL | string; type: string }> = {
  '/ui': { file: here('index.html'), type: 'text/html; charset=utf-8' },
  '/ui/': { file: here('index.html'), type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: here('app.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: here('style.css'), type: 'text/css; charset=utf-8' },
  '/ui/uplot.js': { file: uplot('uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/uplot.css': { file: uplot('uPlot.min.css'), type: 'text/css; charset=utf-8' },
};
/** Nothing from elsewhere: scripts, styles and the stream come from this server only. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function dashboardRoutes(dash: Dashboard, authorize: Authorize): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  const cache = new Map<string, Buffer>();
  return (req, res, path) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new RoamError('E_METHOD', `the dashboard answers GET only, not ${req.method}`);
    if (path === '/ui/stream') {
      if (req.method !== 'GET') throw new RoamError('E_METHOD', 'the dashboard stream answers GET only');
      return stream(dash, authorize(req), req, res);
    }
    const a = ASSETS[path];
    if (!a) throw new RoamError('E_NOT_FOUND', `no dashboard asset ${path}`);
    let body = cache.get(path);
    if (!body) cache.set(path, (body = readFileSync(a.file)));
    res.writeHead(200, { 'content-type': a.type, 'content-length': body.length, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

function stream(dash: Dashboard, who: { tenant: string | null }, req: IncomingMessage, res: ServerResponse): void {
  if (dash.subscribers >= MAX_STREAMS) throw new RoamError('E_OVERLOAD', `${MAX_STREAMS} dashboards are streaming already; close one`);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-accel-buffering': 'no' });
  res.write('retry: 2000\n\n');
  const sub: Subscriber = {
    tenant: who.tenant,
    send(event, json) {
      if (res.writableLength > MAX_BUFFERED) return void res.destroy();
      // A page still reading the last tick skips this one (never the first, which carries the history).
      if (event === 'tick' && res.writableNeedDrain) return;
      res.write(`event: ${event}\ndata: ${json}\n\n`);
    },
  };
  const end = () => dash.unsubscribe(sub);
  req.on('close', end);
  res.on('close', end);
  res.on('error', end);
  dash.subscribe(sub);
}
