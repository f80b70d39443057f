/**
 * Wire frames against a real `roam serve` (kv and btree deployed): random frames, frames mutated from
 * valid ones, truncated and oversized frames, corrupt streams, interleaved with valid requests whose
 * answers are known (a fixed kv key, RESOLVE, region reads, E_TOO_LARGE for an oversized frame), and a
 * checker connection that writes and reads back kv keys every round. Fuzzed frames never address kv (its
 * table is the oracle's); they go to btree or to bundle ids nobody has.
 */
import { encodeFrame, HEADER, Kind, MAGIC, VERSION } from '../engine/wire/frame.ts';
import { encodeClientReport } from '../engine/wire/client-stats.ts';
import { LATENCY_BUCKETS } from '../engine/places/latency.ts';
import { RawWire, regionReadPayload } from '../test/helpers/wire-raw.ts';
import { HangError, Prng, Report, Served, within } from './lib.ts';
import { buildBundle } from './bundles-built.ts';

const MAX_FRAME = 1 << 20;
const AUTH: number = Kind.AUTH;
const VALID = 0x80000000;
const K0 = 0x5eed_0000_0001n;
const V0 = Buffer.from('the oracle value');

/** What a valid frame in a batch must be answered with. */
interface Expect {
  id: number;
  what: 'get0' | 'resolve' | 'read' | 'toolarge';
}
interface Batch {
  bytes: Buffer;
  expects: Expect[];
  /** Byte offset of the first frame that ends the stream (bad magic or version), or -1. */
  corruptAt: number;
  /** The batch ends mid-frame and the connection is closed after it. */
  truncated: boolean;
  frames: number;
}

const key = (k: bigint, value?: Buffer) => {
  const b = Buffer.alloc(8 + (value?.length ?? 0));
  b.writeBigUInt64LE(k);
  value?.copy(b, 8);
  return b;
};

class BatchMaker {
  private seq = 0;
  constructor(private readonly rng: Prng, private readonly kv: number, private readonly btree: number) {}

  private validId(): number {
    return (VALID | ++this.seq) >>> 0;
  }
  private fuzzBundle(): number {
    const b = this.rng.chance(0.6) ? this.btree : this.rng.int(65536);
    return b === this.kv ? this.btree : b;
  }
  private frame(kind: number, id: number, bundle: number, code: number, payload: Uint8Array, place = 0): Buffer {
    return encodeFrame({ kind, place, flags: 0, id, bundle, code }, payload);
  }
  /** A plausible request for btree or a random bundle (the seed of mutations). */
  private plausible(): Buffer {
    const r = this.rng;
    const kind = r.pick([Kind.CALL, Kind.CALL, Kind.RESOLVE, Kind.FETCH_BUNDLE, Kind.REGION_READ, Kind.REGION_WRITE, Kind.REGION_ATOMIC, Kind.STATS, Kind.CLIENT_STATS]);
    const payload =
      kind === Kind.RESOLVE ? Buffer.from(r.pick(['btree', 'kv', 'nope', '', '\u00ff'.repeat(r.int(300))]))
      : kind === Kind.REGION_READ ? regionReadPayload(r.int(1 << 21), r.int(1 << 12))
      : kind === Kind.REGION_WRITE ? Buffer.concat([regionReadPayload(r.int(1 << 21), 0).subarray(0, 4), r.bytes(r.int(64))])
      : kind === Kind.REGION_ATOMIC ? Buffer.concat([Buffer.from([r.int(8), 0, 0, 0]), regionReadPayload(r.int(1 << 21) & ~7, 0).subarray(0, 4), r.bytes(16)])
      : kind === Kind.CLIENT_STATS && r.chance(0.5) ? clientReport(r)
      : r.bytes(r.int(r.chance(0.1) ? 20_000 : 64));
    // btree's handlers run up to 50M fuel on a tree the fuzzer scribbled on: call them now and then (not
    // 'build'), the rest of the time a handler type nobody has; the decoder and dispatch are the target.
    const code = kind === Kind.CALL ? (r.chance(0.05) ? 1 + r.int(2) : 4 + r.int(100)) : r.int(8);
    return this.frame(kind, r.int(VALID), this.fuzzBundle(), code, payload, r.int(5));
  }
  /** Mutates bytes outside magic, version and length (those are the corrupt/oversized cases); id stays below VALID. */
  private mutated(): Buffer {
    const f = this.plausible();
    const r = this.rng;
    for (let n = 1 + r.int(4); n > 0; n--) {
      const at = r.int(f.length);
      if (at < 2 || (at >= 12 && at < 16)) continue;
      f[at] = r.chance(0.5) ? r.u32() & 0xff : f[at]! ^ (1 << r.int(8));
    }
    f[7] = f[7]! & 0x7f;
    if ((f[8]! | (f[9]! << 8)) === this.kv) f.writeUInt16LE(this.btree, 8);
    if (f[2] === AUTH) f[2] = AUTH + 1; // an AUTH that fails closes the connection: only where the batch expects it
    return f;
  }
  private random(): Buffer {
    const r = this.rng;
    let kind = r.int(16);
    if (kind === AUTH) kind = AUTH + 1;
    return this.frame(kind, r.int(VALID), this.fuzzBundle(), kind === Kind.CALL && r.chance(0.9) ? 4 + r.int(65000) : r.int(65536), r.bytes(r.int(96)), r.int(256));
  }

  make(frames: number): Batch {
    const r = this.rng;
    const parts: Buffer[] = [];
    const expects: Expect[] = [];
    let at = 0;
    let corruptAt = -1;
    const push = (b: Buffer) => {
      parts.push(b);
      at += b.length;
    };
    const corruptFrame = r.chance(0.08) ? r.int(frames) : -1;
    for (let i = 0; i < frames; i++) {
      if (i === corruptFrame) {
        corruptAt = at;
        // Ends the stream: bad magic or version (E_FRAME), or an AUTH whose token is refused (E_UNAUTHORIZED).
        const bad = this.random();
        const how = r.int(3);
        if (how === 0) bad[0] = r.chance(0.5) ? 0x47 : r.u32() & 0xff || 1; // 'G': an HTTP line on a wire connection
        else if (how === 1) bad[1] = VERSION + 1 + r.int(250);
        if (how < 2 && bad[0] === MAGIC && bad[1] === VERSION) bad[1] = 0;
        push(how < 2 ? bad : this.frame(AUTH, r.int(VALID), 0, 0, r.bytes(1 + r.int(40))));
        continue;
      }
      const p = r.u32() % 100;
      if (p < 25) {
        const id = this.validId();
        const which = r.int(3);
        if (which === 0) push(this.frame(Kind.CALL, id, this.kv, 1, key(K0)));
        else if (which === 1) push(this.frame(Kind.RESOLVE, id, 0, 0, Buffer.from('kv')));
        else push(this.frame(Kind.REGION_READ, id, this.kv, 0, regionReadPayload(r.int(1 << 20) & ~63, 64)));
        if (corruptAt < 0) expects.push({ id, what: which === 0 ? 'get0' : which === 1 ? 'resolve' : 'read' });
      } else if (p < 26 && corruptAt < 0) {
        // Oversized: answered E_TOO_LARGE, its payload skipped; the stream goes on.
        const id = this.validId();
        const len = MAX_FRAME + 1 + r.int(4096);
        const h = this.frame(Kind.CALL, id, this.kv, 1, new Uint8Array(0));
        h.writeUInt32LE(len, 12);
        push(h);
        push(Buffer.alloc(len, r.u32() & 0xff)); // skipped unread: its content does not matter
        expects.push({ id, what: 'toolarge' });
      } else if (p < 65) push(this.mutated());
      else push(this.random());
    }
    const truncated = r.chance(0.1);
    if (truncated) {
      const f = this.plausible();
      push(f.subarray(0, 1 + r.int(f.length - 1)));
    }
    return { bytes: Buffer.concat(parts), expects, corruptAt, truncated, frames };
  }
}

/** Sends one batch on a fresh connection; resolves with what was wrong ('' when nothing). */
async function runBatch(port: number, b: Batch, kvId: number): Promise<string> {
  const c = await RawWire.open(port);
  try {
    c.send(b.bytes);
    if (b.truncated || b.corruptAt >= 0) c.socket.end();
    const ids = new Set(b.expects.map((e) => e.id));
    const answered = () => c.replies.filter((x) => ids.has(x.id)).length >= ids.size;
    await within(c.until(answered), 20_000, `batch of ${b.frames} frames`);
    const byId = new Map<number, number>();
    for (const x of c.replies) if (x.id >= VALID) byId.set(x.id, (byId.get(x.id) ?? 0) + 1);
    // A stream the client cut (truncated) or corrupted is closed by the server: replies of calls still
    // running then are discarded (wire README), so only a clean batch must have every answer.
    const strict = !b.truncated && b.corruptAt < 0;
    for (const e of b.expects) {
      const rs = c.replies.filter((x) => x.id === e.id);
      if (rs.length === 0 && !strict) continue;
      if (rs.length === 0) return `no reply to valid frame ${e.id.toString(16)} (${e.what})${c.closed ? ': connection closed' : ''}`;
      if (rs.length > 1) return `${rs.length} replies to frame ${e.id.toString(16)} (${e.what})`;
      const x = rs[0]!;
      const bad = (m: string) => `${e.what} ${e.id.toString(16)}: ${m} (kind ${x.kind}, ${x.payload.toString('utf8', 0, Math.min(120, x.payload.length))})`;
      if (e.what === 'toolarge') {
        if (x.kind !== Kind.ERROR || !x.payload.toString().startsWith('E_TOO_LARGE')) return bad('expected E_TOO_LARGE');
      } else if (x.kind !== Kind.REPLY) return bad('expected a REPLY');
      else if (e.what === 'get0' && !x.payload.equals(V0)) return bad('wrong value for the oracle key');
      else if (e.what === 'resolve' && x.bundle !== kvId) return bad('wrong bundle id');
      else if (e.what === 'read' && x.length !== 64) return bad('wrong read length');
    }
    for (const [id, n] of byId) if (n > 1 && !ids.has(id)) return `${n} replies to id ${id.toString(16)}`;
    return '';
  } finally {
    c.destroy();
  }
}

export interface WireFuzzOptions {
  seed: number;
  /** Fuzzed frames to send (the long run: 1,000,000). */
  inputs: number;
  connections?: number;
  log?: (line: string) => void;
}

async function startServer(): Promise<Served> {
  const [kv, btree] = await Promise.all([buildBundle('kv'), buildBundle('btree')]);
  return Served.start(['--bundle', kv.file, '--bundle', btree.file]);
}

/** The checker's connection: resolves ids, writes the oracle key, then per round a put/get pair of its own. */
async function checker(port: number): Promise<{ c: RawWire; kv: number; btree: number; round(n: number): Promise<string> }> {
  const c = await RawWire.open(port);
  const kv = await c.resolve('kv');
  const btree = await c.resolve('btree', 0x7fff0001);
  let id = 1;
  const call = async (type: number, payload: Buffer) => {
    const r = await within(c.request(Kind.CALL, ++id, kv, type, payload), 20_000, 'checker call');
    c.replies.length = 0;
    return r;
  };
  const put0 = await call(2, key(K0, V0));
  if (put0?.kind !== Kind.REPLY) throw new Error(`checker: put of the oracle key failed: ${put0?.payload.toString()}`);
  return {
    c,
    kv,
    btree,
    async round(n) {
      const k = 0x7000_0000_0000n + BigInt(n % 5000) + 1n;
      const v = Buffer.from(`v${n}`);
      const p = await call(2, key(k, v));
      if (p?.kind !== Kind.REPLY) return `checker put ${n}: ${p ? p.payload.toString() : 'connection closed'}`;
      const g = await call(1, key(k));
      if (g?.kind !== Kind.REPLY || !g.payload.equals(v)) return `checker get ${n}: expected ${v}, got ${g ? g.payload.toString() : 'connection closed'}`;
      return '';
    },
  };
}

export async function fuzzWire(o: WireFuzzOptions): Promise<Report> {
  const report = new Report('wire', o.seed);
  const server = await startServer();
  const log = o.log ?? (() => {});
  try {
    const chk = await checker(server.port);
    report.rssStart = server.rss();
    const rng = new Prng(o.seed);
    const maker = new BatchMaker(rng, chk.kv, chk.btree);
    const conns = o.connections ?? 4;
    let round = 0;
    let nextLog = 100_000;
    while (report.inputs < o.inputs && report.ok) {
      const tA = performance.now();
      const batches = Array.from({ length: conns }, () => maker.make(50 + rng.int(450)));
      const tB = performance.now();
      const results = await Promise.allSettled(batches.map((b) => runBatch(server.port, b, chk.kv)));
      if (process.env.FUZZ_DEBUG) log(`make ${(tB - tA).toFixed(1)} run ${(performance.now() - tB).toFixed(1)} ms ${batches.map((b) => `${b.frames}${b.truncated ? 't' : ''}${b.corruptAt >= 0 ? 'c' : ''}`).join(',')}`);
      round++;
      for (let i = 0; i < batches.length; i++) {
        report.inputs += batches[i]!.frames;
        const res = results[i]!;
        const why = res.status === 'fulfilled' ? res.value : (res.reason as Error).message;
        if (!why) continue;
        const kind = !server.alive ? 'crash' : res.status === 'rejected' && res.reason instanceof HangError ? 'hang' : 'wrong';
        const replay = report.fail(kind, why, batchRecord(batches[i]!));
        log(`wire: ${kind}: ${why}\n  replay: ${replay}`);
      }
      if (!server.alive && report.ok) report.fail('crash', `server exited (${server.exited}): ${server.stderr.slice(-400)}`, { batches: batches.map(batchRecord) });
      if (!report.ok) break;
      const why = await chk.round(round).catch((e: Error) => e.message);
      if (why) report.fail(server.alive ? (why.includes('no answer') ? 'hang' : 'wrong') : 'crash', why, { batches: batches.map(batchRecord) });
      if (report.inputs >= nextLog) {
        log(`wire: ${report.inputs} frames, server RSS ${(server.rss() / 1048576).toFixed(0)} MiB`);
        nextLog += 100_000;
      }
    }
    report.rssEnd = server.rss();
    chk.c.destroy();
  } finally {
    await server.stop();
  }
  return report;
}

const batchRecord = (b: Batch) => ({ bytes: b.bytes.toString('base64'), expects: b.expects, corruptAt: b.corruptAt, truncated: b.truncated, frames: b.frames });

/** Replays a recorded failing batch (or batches) against a fresh server. */
export async function replayWire(rec: Record<string, unknown>): Promise<Report> {
  const report = new Report('wire-replay', Number(rec.seed));
  const server = await startServer();
  try {
    const chk = await checker(server.port);
    report.rssStart = server.rss();
    const recs = (rec.batches as Array<Record<string, unknown>> | undefined) ?? [rec];
    for (const r of recs) {
      const b: Batch = { bytes: Buffer.from(r.bytes as string, 'base64'), expects: r.expects as Expect[], corruptAt: r.corruptAt as number, truncated: r.truncated as boolean, frames: r.frames as number };
      report.inputs += b.frames;
      const why = await runBatch(server.port, b, chk.kv).catch((e: Error) => e.message);
      if (why) report.failures.push({ kind: server.alive ? 'wrong' : 'crash', message: why, file: '' });
    }
    const why = await chk.round(1).catch((e: Error) => e.message);
    if (why || !server.alive) report.failures.push({ kind: server.alive ? 'wrong' : 'crash', message: why || `server exited (${server.exited})`, file: '' });
    report.rssEnd = server.rss();
    chk.c.destroy();
  } finally {
    await server.stop();
  }
  return report;
}

export { HEADER };

/** A well-formed client-place report (CLIENT_STATS) with random counts: mutations make it malformed. */
function clientReport(r: Prng): Buffer {
  const latency = new Float64Array(LATENCY_BUCKETS);
  let messages = 0;
  for (let n = r.int(8); n > 0; n--) {
    const c = r.int(1000);
    latency[r.int(LATENCY_BUCKETS)]! += c;
  }
  for (const c of latency) messages += c;
  return encodeClientReport({ messages, errors: r.int(messages + 1), queue: r.int(100), latency });
}
