import type { Arrival, SendToken, Source, Transport } from './transport.ts';
import { hostname } from 'node:os';

/**
 * Embedded wire: one single-producer/single-consumer byte ring per (src, dst) pair in one
 * SharedArrayBuffer, plus one doorbell word per rank (Atomics.wait/notify). Messages are
 * framed [ctx, tag, flags, len] + payload and streamed through the ring, so messages larger
 * than a ring still flow while both sides make progress.
 */
const HDR = 16;
const CTRL_WORDS = 2; // [written, read] byte counters, wrapping at 2^32

export interface SabLayout {
  sab: SharedArrayBuffer;
  size: number;
  ringBytes: number;
  t0: number; // shared time origin for Wtime (ms, performance.timeOrigin + now)
}

export function createSabLayout(size: number, totalBytes = 64 << 20): SabLayout {
  let ringBytes = 1 << 22;
  while (ringBytes > 1 << 16 && ringBytes * size * size > totalBytes) ringBytes >>= 1;
  const bells = size * 4;
  const ctrl = size * size * CTRL_WORDS * 4;
  const sab = new SharedArrayBuffer(align(bells + ctrl, 64) + ringBytes * size * size);
  return { sab, size, ringBytes, t0: performance.timeOrigin + performance.now() };
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

interface OutMsg {
  hdr: Uint8Array;
  data: Source;
  len: number;
  sent: number; // bytes of header+payload pushed
  token: SendToken;
}
interface InMsg {
  a: Arrival;
  buf: Uint8Array;
  got: number;
}

export class SabTransport implements Transport {
  readonly tagUb = 0x7fffffff;
  private readonly bells: Int32Array;
  private readonly ctrl: Uint32Array;
  private readonly ctrlI: Int32Array;
  private readonly rings: Uint8Array;
  private readonly out: OutMsg[][];
  private readonly inflight: (InMsg | null)[];
  private readonly hdrBuf: (Uint8Array | null)[];
  private readonly done: Array<{ a: Arrival; buf: Uint8Array }> = [];
  private readonly rb: number;

  constructor(private readonly layout: SabLayout, readonly rank: number) {
    const { sab, size, ringBytes } = layout;
    this.bells = new Int32Array(sab, 0, size);
    this.ctrl = new Uint32Array(sab, size * 4, size * size * CTRL_WORDS);
    this.ctrlI = new Int32Array(sab, size * 4, size * size * CTRL_WORDS);
    const base = align(size * 4 + size * size * CTRL_WORDS * 4, 64);
    this.rings = new Uint8Array(sab, base);
    this.rb = ringBytes;
    this.out = Array.from({ length: size }, () => []);
    this.inflight = Array.from({ length: size }, () => null);
    this.hdrBuf = Array.from({ length: size }, () => null);
  }
  get size() {
    return this.layout.size;
  }

  send(dest: number, ctx: number, tag: number, flags: number, data: Source, len: number): SendToken {
    const hdr = new Uint8Array(HDR);
    new Int32Array(hdr.buffer).set([ctx, tag, flags, len]);
    const token = { done: false };
    this.out[dest].push({ hdr, data, len, sent: 0, token });
    this.pushTo(dest);
    return token;
  }

  progress(): boolean {
    let moved = false;
    for (let d = 0; d < this.size; d++) if (this.out[d].length && this.pushTo(d)) moved = true;
    for (let s = 0; s < this.size; s++) if (this.pullFrom(s)) moved = true;
    return moved;
  }

  poll(): Arrival | null {
    if (!this.done.length) this.progress();
    return this.done.length ? this.done[0].a : null;
  }

  take(a: Arrival, into: Uint8Array | null): Uint8Array {
    const m = this.done.shift()!;
    if (m.a !== a) throw new Error('internal: take() out of order');
    if (!into) return m.buf;
    into.set(m.buf.subarray(0, a.len));
    return into;
  }

  seq(): number {
    return Atomics.load(this.bells, this.rank);
  }
  idle(seq: number): void {
    // Spin on the doorbell for up to ~50 µs before sleeping: a reply in a ping-pong takes longer
    // than a few thousand loads, and a futex sleep then costs a wake-up through the scheduler
    // (tens of µs, far more on a loaded machine). Bounded, so ranks beyond the cores still sleep.
    const until = performance.now() + 0.05;
    do {
      for (let i = 0; i < 256; i++) if (Atomics.load(this.bells, this.rank) !== seq) return;
    } while (performance.now() < until);
    Atomics.wait(this.bells, this.rank, seq, 20);
  }
  wtime(): number {
    return (performance.timeOrigin + performance.now() - this.layout.t0) / 1000;
  }
  abort(code: number): never {
    throw Object.assign(new Error(`MPI_Abort called with code ${code}`), { mpiAbort: code });
  }
  finalize(): void {
    // Drain our sends so peers get every message before this rank's thread ends.
    while (this.out.some((q) => q.length)) {
      const s = this.seq();
      if (!this.progress()) this.idle(s);
    }
  }
  processorName(): string {
    return hostname();
  }

  private ring(src: number, dst: number) {
    const i = (src * this.size + dst) * CTRL_WORDS;
    return { w: i, r: i + 1, off: (src * this.size + dst) * this.rb };
  }
  private ring_write(off: number, pos: number, bytes: Uint8Array) {
    const at = pos % this.rb;
    const first = Math.min(bytes.length, this.rb - at);
    this.rings.set(bytes.subarray(0, first), off + at);
    if (first < bytes.length) this.rings.set(bytes.subarray(first), off);
  }
  private ring_read(off: number, pos: number, into: Uint8Array) {
    const at = pos % this.rb;
    const first = Math.min(into.length, this.rb - at);
    into.set(this.rings.subarray(off + at, off + at + first));
    if (first < into.length) into.set(this.rings.subarray(off, off + into.length - first), first);
  }

  /** Pushes queued messages to `dest` as far as ring space allows. */
  private pushTo(dest: number): boolean {
    const q = this.out[dest];
    const { w, r, off } = this.ring(this.rank, dest);
    let moved = false;
    while (q.length) {
      const m = q[0];
      const written = Atomics.load(this.ctrl, w);
      const free = this.rb - ((written - Atomics.load(this.ctrl, r)) >>> 0);
      const total = HDR + m.len;
      if (m.sent === 0) {
        if (free < HDR) break;
      } else if (free === 0) break;
      let n: number;
      if (m.sent < HDR) {
        this.ring_write(off, written, m.hdr);
        n = HDR;
      } else {
        const bytes = typeof m.data === 'function' ? m.data() : m.data;
        n = Math.min(free, total - m.sent);
        this.ring_write(off, written, bytes.subarray(m.sent - HDR, m.sent - HDR + n));
      }
      m.sent += n;
      Atomics.store(this.ctrl, w, (written + n) >>> 0);
      moved = true;
      if (m.sent === total) {
        m.token.done = true;
        q.shift();
      }
    }
    if (moved) {
      Atomics.add(this.bells, dest, 1);
      Atomics.notify(this.bells, dest);
    }
    return moved;
  }

  /** Pulls whatever `src` has written to us, completing messages into `done`. */
  private pullFrom(src: number): boolean {
    const { w, r, off } = this.ring(src, this.rank);
    let moved = false;
    for (;;) {
      const read = Atomics.load(this.ctrl, r);
      const avail = (Atomics.load(this.ctrl, w) - read) >>> 0;
      if (avail === 0) break;
      let cur = this.inflight[src];
      let n: number;
      if (!cur) {
        if (avail < HDR) break;
        const h = new Uint8Array(HDR);
        this.ring_read(off, read, h);
        const [ctx, tag, flags, len] = new Int32Array(h.buffer);
        cur = { a: { src, ctx, tag, flags, len }, buf: new Uint8Array(len), got: 0 };
        this.inflight[src] = cur;
        n = HDR;
      } else {
        n = Math.min(avail, cur.a.len - cur.got);
        this.ring_read(off, read, cur.buf.subarray(cur.got, cur.got + n));
        cur.got += n;
      }
      Atomics.store(this.ctrl, r, (read + n) >>> 0);
      moved = true;
      if (cur.got === cur.a.len) {
        this.done.push({ a: cur.a, buf: cur.buf });
        this.inflight[src] = null;
      }
    }
    if (moved) {
      Atomics.add(this.bells, src, 1);
      Atomics.notify(this.bells, src);
    }
    return moved;
  }
}
