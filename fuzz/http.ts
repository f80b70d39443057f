/**
 * HTTP requests against a real `roam serve` (functions/hello and test/fixtures/hostile deployed), written
 * raw to sockets: methods, paths with escapes, headers (odd names, huge, duplicated framing headers),
 * bodies (short, long, chunked, lying about their length). Every request must get an answer or a close
 * within 20 s (else: hang), no answer may be a 500 E_INTERNAL (an unhandled case), the server must stay
 * up, and a valid request between rounds must get its right answer.
 */
import net from 'node:net';

import { join } from 'node:path';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { HangError, Prng, Report, ROOT, Served, within } from './lib.ts';
import { buildBundle } from './bundles-built.ts';

export interface HttpFuzzOptions {
  seed: number;
  inputs: number;
  log?: (line: string) => void;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'get', 'G\u00e9T', 'X'.repeat(300), '', 'POST /x'];
const ROUTES = ['/fn/greet', '/fn/badheader', '/fn/nope', '/chain/x', '/v1/bundles', '/v1/bundles/hello', '/v1/bundles/x', '/v1/chains', '/v1/chains/c', '/v1/stats', '/metrics', '/healthz', '', '*', '//', '/fn', '/fn/', '/v1', 'http://evil/fn/greet'];
const ESCAPES = ['%', '%z', '%zz', '%00', '%ff', '%C0%AF', '%E0%A4%A', '%2F', '%2e%2e', '..', '\u00e9', '%25', '?a=%', '#frag', ';', '%F0%9F%98%80', '\t', ' '];
const HEADER_NAMES = ['content-length', 'transfer-encoding', 'host', 'authorization', 'connection', 'expect', 'x-roam-next', 'x-roam-call', 'x-roam-state', 'content-type', 'x', 'bad name', '\u00e9', ''];

function request(rng: Prng): Buffer {
  const method = rng.chance(0.7) ? rng.pick(['GET', 'POST', 'PUT', 'DELETE']) : rng.pick(METHODS);
  let path = rng.pick(ROUTES);
  for (let n = rng.chance(0.5) ? 0 : rng.int(4); n > 0; n--) path += (rng.chance(0.5) ? '/' : '') + rng.pick(ESCAPES) + (rng.chance(0.3) ? rng.bytes(1 + rng.int(4)).toString('latin1') : '');
  if (rng.chance(0.02)) path += 'a'.repeat(rng.int(20_000));
  const lines = [`${method} ${path} ${rng.chance(0.95) ? 'HTTP/1.1' : rng.pick(['HTTP/1.0', 'HTTP/2', 'HTTP/9.9', ''])}`];
  if (rng.chance(0.9)) lines.push('host: x');
  const body = rng.chance(0.5) ? rng.bytes(rng.chance(0.05) ? 1 << 20 : rng.int(2000)) : Buffer.alloc(0);
  const framing = rng.chance(0.6) ? 0 : rng.int(6);
  if (framing === 0) lines.push(`content-length: ${body.length}`);
  else if (framing === 1) lines.push(`content-length: ${rng.pick([body.length + 10, Math.max(0, body.length - 10), -1, '1e3', '0x10', `${body.length}, ${body.length}`])}`);
  else if (framing === 2) lines.push('transfer-encoding: chunked');
  else if (framing === 3) lines.push(`content-length: ${body.length}`, 'transfer-encoding: chunked');
  for (let n = rng.int(5); n > 0; n--) {
    const name = rng.chance(0.9) ? rng.pick(HEADER_NAMES.slice(3, -3)) : rng.chance(0.5) ? rng.pick(HEADER_NAMES) : rng.bytes(1 + rng.int(12)).toString('latin1').replace(/[\r\n:]/g, 'x');
    const value = rng.chance(0.05) ? 'v'.repeat(rng.int(100_000)) : rng.chance(0.8) ? rng.pick(['1', 'x', 'greet', 'upper', '/fn/greet', 'Bearer x', 'close', '100-continue', '%zz']) : rng.bytes(rng.int(40)).toString('latin1').replace(/[\r\n]/g, ' ');
    lines.push(`${name}: ${value}`);
  }
  let payload: Buffer = body;
  if (framing === 2 || framing === 3) {
    payload = rng.chance(0.7)
      ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
      : Buffer.concat([Buffer.from(rng.pick(['zz\r\n', 'ffffffffffff\r\n', '5\r\nab', '-1\r\n'])), body]);
  }
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), payload]);
}

/** Sends one raw request, half-closes, reads until the server closes; resolves with what came back. */
function exchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((ok) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => ok(Buffer.concat(chunks).toString('latin1')));
    s.on('connect', () => s.end(bytes));
  });
}

function judge(answer: string): string {
  if (answer.includes('"E_INTERNAL"')) return `answered E_INTERNAL: ${answer.slice(0, 400)}`;
  return '';
}

async function start(): Promise<Served> {
  const server = await Served.start();
  const hello = await buildBundle('hello');
  const hostile = await buildProject(join(ROOT, 'test/fixtures/hostile'), { outFile: join(ROOT, 'fuzz', '.hostile.wasm') });
  for (const [name, bytes] of [['hello', hello.bytes], ['hostile', hostile.bytes]] as const) {
    const r = await fetch(`${server.url}/v1/bundles/${name}`, { method: 'PUT', body: Buffer.from(bytes) });
    if (r.status !== 201) throw new Error(`deploying ${name}: ${r.status} ${await r.text()}`);
  }
  return server;
}

/** A valid call answers right. The server runs --no-auth, so a fuzzed DELETE or PUT may have removed or
 *  replaced hello (allowed): it is deployed again then, and must answer right. */
async function valid(server: Served, n: number, hello: Uint8Array): Promise<string> {
  const greet = async () => {
    const r = await within(fetch(`${server.url}/fn/greet/n${n}`), 20_000, 'GET /fn/greet');
    return { status: r.status, text: await r.text() };
  };
  let r = await greet();
  if (r.status !== 200 || !r.text.includes(`hello, n${n}`)) {
    const put = await within(fetch(`${server.url}/v1/bundles/hello`, { method: 'PUT', body: Buffer.from(hello) }), 20_000, 'PUT hello');
    if (put.status !== 201) return `redeploying hello: ${put.status} ${await put.text()}`;
    r = await greet();
  }
  return r.status === 200 && r.text.includes(`hello, n${n}`) ? '' : `GET /fn/greet/n${n}: ${r.status} ${r.text.slice(0, 200)}`;
}

export async function fuzzHttp(o: HttpFuzzOptions): Promise<Report> {
  const report = new Report('http', o.seed);
  const log = o.log ?? (() => {});
  const server = await start();
  const hello = await buildBundle('hello');
  const rng = new Prng(o.seed);
  const statuses = new Map<string, number>();
  try {
    report.rssStart = server.rss();
    for (let round = 0; report.inputs < o.inputs && report.ok; round++) {
      const reqs = Array.from({ length: 16 }, () => request(rng));
      const t0 = performance.now();
      const answers = await Promise.allSettled(reqs.map((b) => within(exchange(server.port, b), 20_000, 'raw request')));
      if (process.env.FUZZ_DEBUG && performance.now() - t0 > 1000) log(`slow round ${(performance.now() - t0).toFixed(0)} ms: ${reqs.map((r) => JSON.stringify(r.subarray(0, 80).toString('latin1'))).join('\n')}`);
      for (let i = 0; i < reqs.length; i++) {
        report.inputs++;
        const a = answers[i]!;
        const record = { bytes: reqs[i]!.toString('base64') };
        if (a.status === 'rejected') {
          log(`http: hang\n  replay: ${report.fail('hang', (a.reason as Error).message, record)}`);
          continue;
        }
        const st = /^HTTP\/1\.1 (\d+)/.exec(a.value)?.[1] ?? 'closed';
        statuses.set(st, (statuses.get(st) ?? 0) + 1);
        const why = judge(a.value);
        if (why) log(`http: wrong: ${why}\n  replay: ${report.fail('wrong', why, record)}`);
      }
      if (!server.alive) {
        report.fail('crash', `server exited (${server.exited}): ${server.stderr.slice(-400)}`, { requests: reqs.map((b) => b.toString('base64')) });
        break;
      }
      const why = await valid(server, round, hello.bytes).catch((e: Error) => (e instanceof HangError ? `hang: ${e.message}` : e.message));
      if (why) report.fail(why.startsWith('hang') ? 'hang' : 'wrong', why, { requests: reqs.map((b) => b.toString('base64')) });
    }
    report.notes.push(`statuses: ${[...statuses].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    report.rssEnd = server.rss();
  } finally {
    await server.stop();
  }
  return report;
}

export async function replayHttp(rec: Record<string, unknown>): Promise<Report> {
  const report = new Report('http-replay', Number(rec.seed));
  const server = await start();
  try {
    report.rssStart = server.rss();
    const reqs = rec.requests ? (rec.requests as string[]) : [rec.bytes as string];
    for (const b of reqs) {
      report.inputs++;
      const a = await within(exchange(server.port, Buffer.from(b, 'base64')), 20_000, 'raw request').catch((e: Error) => e);
      if (a instanceof Error) report.failures.push({ kind: 'hang', message: a.message, file: '' });
      else if (judge(a)) report.failures.push({ kind: 'wrong', message: judge(a), file: '' });
    }
    const why = await valid(server, 0, (await buildBundle('hello')).bytes).catch((e: Error) => e.message);
    if (why || !server.alive) report.failures.push({ kind: server.alive ? 'wrong' : 'crash', message: why || `server exited (${server.exited})`, file: '' });
    report.rssEnd = server.rss();
  } finally {
    await server.stop();
  }
  return report;
}

