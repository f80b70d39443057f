// The client place's reports to the server (CLIENT_STATS, engine/wire/client-stats.ts): a real wire server,
// a real client running kv at its client place, and raw sockets for the bad reports.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { ClientReports, MAX_CLIENTS } from '../engine/server/client-reports.ts';
import { LATENCY_BUCKETS } from '../engine/places/latency.ts';
import { FrameDecoder } from '../engine/wire/decoder.ts';
import { encodeClientReport, MAX_REPORT_BYTES, REPORT_MORE, REPORT_STOP } from '../engine/wire/client-stats.ts';
import { Kind, encodeFrame, parseError, type Frame } from '../engine/wire/frame.ts';
import { kvBundle, key, putMsg } from './places-helpers.ts';

/** A raw socket whose reply frames can be awaited by count. */
async function raw(port: number) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const frames: Frame[] = [];
  let wake: () => void = () => {};
  const d = new FrameDecoder(1 << 20, { frame: (f) => (frames.push({ ...f, payload: Buffer.from(f.payload) }), wake()), oversize: () => {}, corrupt: () => {} });
  s.on('data', (c) => d.push(c));
  const until = async (n: number) => {
    while (frames.length < n) await new Promise<void>((r) => (wake = r));
    return frames;
  };
  return { s, frames, until };
}
const frame = (kind: number, id: number, payload: Uint8Array, bundle = 0) => encodeFrame({ kind, place: 0, flags: 0, id, bundle, code: 0 }, payload);
const report = (messages: number) => {
  const latency = new Float64Array(LATENCY_BUCKETS);
  latency[40] = messages;
  return encodeClientReport({ messages, errors: 0, queue: 0, latency });
};
/** Waits for a condition the server reaches on its own (a report crossing the loopback). */
async function until(ok: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('client-place reports (CLIENT_STATS)', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let client: Client;
  beforeAll(async () => {
    server = await listenWire({ host: { workers: 1 } });
    server.deploy(await kvBundle());
    client = await connect(server.port);
    await client.send('kv/put', putMsg(1, 'one'), { place: 'host' });
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('reports what the client place ran while a dashboard watches, stops when none does, and is woken again', async () => {
    const r = server.clientReports;
    r.watching = true; // what an open dashboard does (engine/dashboard/wire-source.ts)
    for (let i = 0; i < 20; i++) expect(Buffer.from(await client.send('kv/get', key(1), { place: 'client' })).toString()).toBe('one');
    await until(() => r.summary().messages === 20, '20 client-place messages reported');
    expect(r.summary()).toMatchObject({ clients: 1, errors: 0, queue: 0 });
    expect(r.summary(null).messages).toBe(20); // this connection acts as the admin (no auth)
    // The last dashboard closes: the next report is answered "stop" and the client goes quiet.
    r.watching = false;
    const seen = r.reports;
    await until(() => r.reports > seen, 'a report answered with stop');
    for (let i = 0; i < 10; i++) await client.send('kv/get', key(1), { place: 'client' });
    // Those ran after the stop reached the client (its reply came first on the connection): nothing sent.
    const quiet = r.reports;
    expect(r.summary().messages).toBe(20);
    // A dashboard opens again: the server wakes the client, which reports what it ran meanwhile.
    r.watching = true;
    await until(() => r.summary().messages === 30, 'the 10 messages run while no dashboard watched');
    expect(r.reports).toBeGreaterThan(quiet);
    r.watching = false;
  });

  it('refuses a malformed, oversized or too frequent report with an error reply, counts none of it, and keeps the connection', async () => {
    const r = server.clientReports;
    r.watching = true;
    const before = r.summary().messages, refused = r.refused;
    const c = await raw(server.port);
    const badCount = Buffer.from(report(5));
    badCount.writeUInt32LE(6, 0); // the head says 6, the histogram 5
    c.s.write(Buffer.concat([
      frame(Kind.CLIENT_STATS, 1, Buffer.alloc(13)), // shorter than the head
      frame(Kind.CLIENT_STATS, 2, Buffer.alloc(MAX_REPORT_BYTES + 6)), // past the bound
      frame(Kind.CLIENT_STATS, 3, badCount),
      frame(Kind.CLIENT_STATS, 4, report(7)), // the one good report
      frame(Kind.CLIENT_STATS, 5, report(9)), // within 100 ms of the last: refused
      frame(Kind.RESOLVE, 6, Buffer.from('kv')),
    ]));
    const fs = new Map((await c.until(6)).map((f) => [f.id, f]));
    const code = (id: number) => parseError(fs.get(id)!.payload).code;
    expect([code(1), code(2), code(3), code(5)]).toEqual(['E_FRAME', 'E_TOO_LARGE', 'E_FRAME', 'E_OVERLOAD']);
    expect(parseError(fs.get(5)!.payload).message).toMatch(/at most one per 100 ms/);
    expect(fs.get(4)!.kind).toBe(Kind.REPLY);
    expect(fs.get(4)!.payload[0]).toBe(REPORT_MORE);
    expect(fs.get(6)!.kind).toBe(Kind.REPLY); // the same connection serves on
    expect(r.summary().messages).toBe(before + 7);
    expect(r.refused).toBe(refused + 4);
    expect(r.summary().clients).toBe(2);
    c.s.destroy();
    await until(() => r.summary().clients === 1, 'the raw connection to leave the table');
    expect(r.summary().messages).toBe(before + 7); // its messages stay in the totals
    r.watching = false;
    expect(Buffer.from(await client.send('kv/get', key(1))).toString()).toBe('one');
  });

  it('tracks at most MAX_CLIENTS reporting connections and answers stop while no dashboard watches', () => {
    const r = new ClientReports();
    const conns = Array.from({ length: MAX_CLIENTS }, () => ({}));
    for (const c of conns) expect(r.report(c, 't', report(1), 0, () => {})).toBe(REPORT_STOP);
    expect(() => r.report({}, 't', report(1), 0, () => {})).toThrow(/1024 clients report/);
    expect(r.summary('t')).toMatchObject({ clients: MAX_CLIENTS, messages: MAX_CLIENTS });
    r.drop(conns[0]!);
    expect(r.report({}, 't', report(1), 0, () => {})).toBe(REPORT_STOP);
    let woken = 0;
    const r2 = new ClientReports();
    r2.report({}, 'a', report(1), 0, () => woken++);
    r2.report({}, null, report(1), 0, () => woken++);
    r2.watching = true;
    r2.watching = true; // already on: no second wake-up
    expect(woken).toBe(2);
    expect(r2.summary('a').messages).toBe(1);
    expect(r2.summary('b')).toMatchObject({ clients: 0, messages: 0 });
  });
});
