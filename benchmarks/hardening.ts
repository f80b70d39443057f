/**
 * npm run bench:hardening — the server under hostile connections (issue 19):
 * - a slow reader: 400 pipelined 1 MiB REGION_READs (9.6 KB sent), nothing read, on a native and a Node
 *   wire connection, and 400 pipelined GETs of a 1 MiB function response over HTTP; server RSS before
 *   (the baseline, same run), while the reader is held, after it read everything and closed;
 * - idle sockets: 100 connections that never send a byte; how many the server still holds after the
 *   first-byte timeout (default 10 s), and when it closed them.
 */
import net from 'node:net';
import { encodeFrame, Kind } from '../engine/wire/frame.ts';
import { RawWire, regionReadPayload } from '../test/helpers/wire-raw.ts';
import { Served } from '../fuzz/lib.ts';
import { buildBundle } from '../fuzz/bundles-built.ts';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const MiB = 1 << 20;
const mb = (n: number) => (n / MiB).toFixed(0);
const out = (line: string) => void process.stdout.write(line + '\n');

async function statsUntil(c: RawWire, pred: (s: Record<string, number>) => boolean): Promise<void> {
  for (;;) {
    if (pred((await c.stats()).stats)) return;
    await new Promise((r) => setImmediate(r));
  }
}

/** Memory reliefs the server has run (engine/wire/memory-relief.ts), from the wire STATS reply. */
async function reliefRuns(c: RawWire): Promise<number> {
  return ((await c.stats()) as unknown as { relief: { runs: number } }).relief.runs;
}

async function httpReliefRuns(url: string): Promise<number> {
  return ((await (await fetch(`${url}/v1/stats`)).json()) as { memory: { relief: { runs: number } } }).memory.relief.runs;
}

async function slowWire(kind: 'native' | 'node'): Promise<void> {
  const kv = await buildBundle('kv');
  const s = await Served.start(['--net', kind, '--bundle', kv.file]);
  try {
    const ctl = await RawWire.open(s.port);
    const id = await ctl.resolve('kv');
    await ctl.request(Kind.REGION_READ, 1, id, 0, regionReadPayload(0, MiB));
    const base = s.rss();
    const slow = await RawWire.open(s.port);
    slow.socket.pause();
    slow.send(Buffer.concat(Array.from({ length: 400 }, (_, i) => encodeFrame({ kind: Kind.REGION_READ, place: 0, flags: 0, id: i + 1, bundle: id, code: 0 }, regionReadPayload(0, MiB)))));
    await statsUntil(ctl, (x) => x.held === 1);
    const held = s.rss();
    const t0 = performance.now();
    slow.socket.resume();
    await slow.until(() => slow.replies.length === 400);
    const readMs = performance.now() - t0;
    const runs = await reliefRuns(ctl);
    slow.destroy();
    await statsUntil(ctl, (x) => x.open === 1);
    // The close asks for a collection and a trim (engine/wire/memory-relief.ts): measure once it ran.
    while ((await reliefRuns(ctl)) <= runs) await new Promise((r) => setImmediate(r));
    const after = s.rss();
    out(`| wire, ${kind} connection | ${mb(base)} | ${mb(held)} (+${mb(held - base)}) | ${mb(after)} (+${mb(after - base)}) | 400 of 400, ${(400 / (readMs / 1000)).toFixed(0)} MiB/s once read |`);
    ctl.destroy();
  } finally {
    await s.stop();
  }
}

async function slowHttp(): Promise<void> {
  const s = await Served.start();
  try {
    const bigbody = await buildProject('test/fixtures/bigbody', { outFile: join(tmpdir(), `bigbody-${process.pid}.wasm`) });
    await (await fetch(`${s.url}/v1/bundles/bigbody`, { method: 'PUT', body: Buffer.from(bigbody.bytes) })).text();
    await (await fetch(`${s.url}/fn/blob/1048576`)).arrayBuffer();
    const base = s.rss();
    const done = async () => Number(/roam_request_duration_seconds_count\{kind="fn",name="blob",status="200"\} (\d+)/.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 0);
    const c = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => c.once('connect', r));
    c.pause();
    c.write('GET /fn/blob/1048576 HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(400));
    while ((await done()) < 9);
    let peak = 0;
    let ran = 0;
    for (let i = 0; i < 50; i++) {
      ran = await done();
      peak = Math.max(peak, s.rss());
    }
    let got = 0;
    c.on('data', (b: Buffer) => void (got += b.length));
    c.resume();
    while ((await done()) < 401);
    while (got < 400 * MiB) await new Promise((r) => c.once('data', r));
    const runs = await httpReliefRuns(s.url);
    c.destroy();
    while ((await httpReliefRuns(s.url)) <= runs);
    const after = s.rss();
    out(`| HTTP, 400 pipelined GET /fn/blob/1048576 | ${mb(base)} | ${mb(peak)} (+${mb(peak - base)}; ${ran - 1} functions run) | ${mb(after)} (+${mb(after - base)}) | 400 of 400 |`);
  } finally {
    await s.stop();
  }
}

async function idle(): Promise<void> {
  const s = await Served.start();
  try {
    const t0 = performance.now();
    const socks = await Promise.all(Array.from({ length: 100 }, (_, i) => new Promise<net.Socket>((ok, fail) => {
      const c = net.connect({ port: s.port, host: '127.0.0.1', localAddress: `127.0.9.${1 + (i % 50)}` }, () => ok(c));
      c.once('error', fail);
    })));
    const closedAt: number[] = [];
    await Promise.all(socks.map((c) => new Promise<void>((r) => {
      c.resume();
      c.once('close', () => {
        closedAt.push(performance.now() - t0);
        r();
      });
    })));
    const open = socks.filter((c) => !c.destroyed).length;
    out(`| 100 connections that never send a byte (default --first-byte-ms 10000) | ${open} of 100 open after the timeout; closed between ${(Math.min(...closedAt) / 1000).toFixed(1)} and ${(Math.max(...closedAt) / 1000).toFixed(1)} s; log: ${JSON.stringify((/closed a connection[^\n]*/.exec(s.stderr) ?? [''])[0])} |`);
  } finally {
    await s.stop();
  }
}

out(`npm run bench:hardening — load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
out('| attack | RSS before, MiB (baseline) | RSS while held | RSS after it read all and closed | replies |');
out('|---|---|---|---|---|');
await slowWire('native');
await slowWire('node');
await slowHttp();
out('');
out('| idle sockets | result |');
out('|---|---|');
await idle();
out(`load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
