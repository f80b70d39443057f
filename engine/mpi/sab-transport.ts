import { performance } from 'node:perf_hooks';
import type { Arrival, SendToken, Source, Transport } from './transport.ts';
import { hostname } from 'node:os';

/**
 * Embedded wire: one single-producer/single-consumer byte ring per (src, dst) pair in one
 * SharedArrayBuffer, plus per rank a doorbell word and a sleeping flag (Atomics.wait/notify; a
 * rank that spins is not notified, which spares the wake syscall on every message). Messages are
 * framed [ctx, tag, flags, len] + payload and streamed through the ring, so messages larger than
 * a ring still flow while both sides make progress. The hot path allocates nothing per message
 * but the received payload's buffer.
 */
const HDR = 16;
const CTRL_WORDS = 2; // [written, read] byte counters, wrapping at 2^32
/**
 * Large messages from guest memory go by rendezvous when the ranks' memories are shared
 * (shared-memory.ts): the ring carries only [offset, length, id] and the receiver copies the
 * bytes straight from the sender's memory into its own (one copy instead of two through the ring,
 * and no JS buffer when the receive is posted), then acks id so the sender's request completes.
 * A message that arrives before its receive is copied out at once (and acked), so a sender never
 * waits on a receiver that is itself blocked sending.
 */
const RNDV = 2; // flag bit (the core uses 1 for synchronous sends)
const RNDV_ACK_CTX = -1;
const RNDV_MIN = Number(process.env.ROAM_MPI_RNDV ?? 16384);

export interface SabLayout {
  sab: SharedArrayBuffer;
  size: number;
  ringBytes: number;
  t0: number; // shared time origin for Wtime (ms, performance.timeOrigin + now)
  /** Control words of one-sided windows (locks, accumulate mutexes, post/complete counters; win-shared.ts). */
  winCtl: SharedArrayBuffer;
  /** Every rank's linear memory when the module was rewritten to share it (shared-memory.ts); else absent. */
  memories?: WebAssembly.Memory[];
}

export function createSabLayout(size: number, totalBytes = 64 << 20): SabLayout {
  let ringBytes = 1 << 22;
  while (ringBytes > 1 << 16 && ringBytes * size * size > totalBytes) ringBytes >>= 1;
  const bells = size * 8; // doorbell words, then sleeping flags
  const ctrl = size * size * CTRL_WORDS * 4;
  const sab = new SharedArrayBuffer(align(bells + ctrl, 64) + ringBytes * size * size);
  return { sab, size, ringBytes, t0: performance.timeOrigin + performance.now(), winCtl: new SharedArrayBuffer(winCtlBytes(size)) };
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;
const EMPTY = new Uint8Array(0);
/** Window slots in the control area and the words each takes for `size` ranks (see win-shared.ts). */
export const WIN_SLOTS = 64;
export const winSlotWords = (size: number) => 2 * size + 2 * size * size;
const winCtlBytes = (size: number) => WIN_SLOTS * winSlotWords(size) * 4;

interface OutMsg {
  ctx: number;
  tag: number;
  flags: number;
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
/** A received message: its bytes, or where they wait in the sender's memory (rendezvous). */
interface Done {
  a: Arrival;
  buf: Uint8Array | null;
  off: number;
  id: number;
}

export class SabTransport implements Transport {
  readonly tagUb = 0x7fffffff;
  private readonly bells: Int32Array;
  /** sleeping[r] = 1 while rank r is (about to be) in Atomics.wait. */
  private readonly sleeping: Int32Array;
  private readonly ctrl: Uint32Array;
  /** A frame header on its way into or out of a ring (16 bytes, seen as 4 words). */
  private readonly hdr = new Uint8Array(HDR);
  private readonly hdrI32 = new Int32Array(this.hdr.buffer);
  private readonly rings: Uint8Array;
  private readonly out: OutMsg[][];
  private readonly inflight: (InMsg | null)[];
  private readonly done: Done[] = [];
  /** Rendezvous sends waiting for their ack, by id. */
  private readonly rndv = new Map<number, SendToken>();
  private nextRndv = 1;
  private readonly rndvHdr = new Int32Array(3);
  private readonly rb: number;

  constructor(private readonly layout: SabLayout, readonly rank: number) {
    const { sab, size, ringBytes } = layout;
    this.bells = new Int32Array(sab, 0, size);
    this.sleeping = new Int32Array(sab, size * 4, size);
    this.ctrl = new Uint32Array(sab, size * 8, size * size * CTRL_WORDS);
    const base = align(size * 8 + size * size * CTRL_WORDS * 4, 64);
    this.rings = new Uint8Array(sab, base);
    this.rb = ringBytes;
    this.out = Array.from({ length: size }, () => []);
    this.inflight = Array.from({ length: size }, () => null);
  }
  get size() {
    return this.layout.size;
  }
  /** What embedded windows need (win-shared.ts): every rank's memory, the control words, a wake-up; null when memories are not shared. */
  get sharedWindows() {
    const { memories, winCtl } = this.layout;
    return memories ? { memories, ctl: winCtl, wake: (r: number) => this.wake(r) } : null;
  }

  send(dest: number, ctx: number, tag: number, flags: number, data: Source, len: number): SendToken {
    const token = { done: false };
    const mems = this.layout.memories;
    if (len >= RNDV_MIN && mems) {
      const view = typeof data === 'function' ? data() : data;
      if (view.buffer === mems[this.rank].buffer || (view.buffer instanceof SharedArrayBuffer && view.buffer === this.ownBuffer())) {
        const id = this.nextRndv++;
        this.rndv.set(id, token);
        const h = new Int32Array([view.byteOffset, len, id]);
        this.out[dest].push({ ctx, tag, flags: flags | RNDV, data: new Uint8Array(h.buffer), len: 12, sent: 0, token: { done: false } });
        this.pushTo(dest);
        return token;
      }
    }
    this.out[dest].push({ ctx, tag, flags, data, len, sent: 0, token });
    this.pushTo(dest);
    return token;
  }
  /** This rank's memory as it is now (it may have grown since a view of it was taken). */
  private ownBuffer(): ArrayBufferLike {
    return this.layout.memories![this.rank].buffer;
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
    if (!m.buf) {
      // Rendezvous: straight from the sender's memory, then the ack that completes its send.
      let src = new Uint8Array(this.layout.memories![a.src].buffer);
      if (src.length < m.off + a.len) src = new Uint8Array(this.layout.memories![a.src].buffer);
      const bytes = src.subarray(m.off, m.off + a.len);
      const out = into ? into.subarray(0, a.len) : new Uint8Array(a.len);
      out.set(bytes);
      this.out[a.src].push({ ctx: RNDV_ACK_CTX, tag: m.id, flags: 0, data: EMPTY, len: 0, sent: 0, token: { done: false } });
      this.pushTo(a.src);
      return into ?? out;
    }
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
    // Flag first, then wait on the doorbell: a ringer that missed the flag rang before it was set, so
    // the bell no longer holds `seq` and the wait returns at once (sequentially consistent atomics).
    Atomics.store(this.sleeping, this.rank, 1);
    Atomics.wait(this.bells, this.rank, seq, 20);
    Atomics.store(this.sleeping, this.rank, 0);
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

  /** Wakes `peer` if it waits in an MPI call (a window lock, post or complete it may wait for changed). */
  wake(peer: number): void {
    this.ring(peer);
  }
  /** Rings `peer`'s doorbell; wakes it only if it sleeps. */
  private ring(peer: number): void {
    Atomics.add(this.bells, peer, 1);
    if (Atomics.load(this.sleeping, peer) === 1) Atomics.notify(this.bells, peer);
  }
  private ringWrite(off: number, pos: number, bytes: Uint8Array) {
    const at = pos % this.rb;
    const first = Math.min(bytes.length, this.rb - at);
    this.rings.set(first === bytes.length ? bytes : bytes.subarray(0, first), off + at);
    if (first < bytes.length) this.rings.set(bytes.subarray(first), off);
  }
  private ringRead(off: number, pos: number, into: Uint8Array) {
    const at = pos % this.rb;
    const first = Math.min(into.length, this.rb - at);
    into.set(this.rings.subarray(off + at, off + at + first));
    if (first < into.length) into.set(this.rings.subarray(off, off + into.length - first), first);
  }
  /** The 16 header bytes at ring position `pos`, byte by byte (they may wrap): no view per message. */
  private headerIn(off: number, pos: number): void {
    for (let i = 0; i < HDR; i++) this.hdr[i] = this.rings[off + ((pos + i) % this.rb)]!;
  }
  private headerOut(off: number, pos: number): void {
    for (let i = 0; i < HDR; i++) this.rings[off + ((pos + i) % this.rb)] = this.hdr[i]!;
  }

  /** Pushes queued messages to `dest` as far as ring space allows. */
  private pushTo(dest: number): boolean {
    const q = this.out[dest];
    const pair = this.rank * this.size + dest;
    const w = pair * CTRL_WORDS, r = w + 1, off = pair * this.rb;
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
        const h = this.hdrI32;
        h[0] = m.ctx;
        h[1] = m.tag;
        h[2] = m.flags;
        h[3] = m.len;
        this.headerOut(off, written);
        n = HDR;
      } else {
        const bytes = typeof m.data === 'function' ? m.data() : m.data;
        n = Math.min(free, total - m.sent);
        this.ringWrite(off, written, bytes.subarray(m.sent - HDR, m.sent - HDR + n));
      }
      m.sent += n;
      Atomics.store(this.ctrl, w, (written + n) >>> 0);
      moved = true;
      if (m.sent === total) {
        m.token.done = true;
        q.shift();
      }
    }
    if (moved) this.ring(dest);
    return moved;
  }

  private complete(m: InMsg): void {
    const a = m.a;
    if (a.ctx === RNDV_ACK_CTX) {
      const t = this.rndv.get(a.tag);
      if (t) t.done = true;
      this.rndv.delete(a.tag);
      return;
    }
    if (a.flags & RNDV) {
      const h = this.rndvHdr;
      new Uint8Array(h.buffer).set(m.buf.subarray(0, 12));
      a.flags &= ~RNDV;
      a.len = h[1];
      this.done.push({ a, buf: null, off: h[0], id: h[2] });
      return;
    }
    this.done.push({ a, buf: m.buf, off: 0, id: 0 });
  }

  /** Pulls whatever `src` has written to us, completing messages into `done`. */
  private pullFrom(src: number): boolean {
    const pair = src * this.size + this.rank;
    const w = pair * CTRL_WORDS, r = w + 1, off = pair * this.rb;
    let moved = false;
    for (;;) {
      const read = Atomics.load(this.ctrl, r);
      const avail = (Atomics.load(this.ctrl, w) - read) >>> 0;
      if (avail === 0) break;
      let cur = this.inflight[src];
      let n: number;
      if (!cur) {
        if (avail < HDR) break;
        this.headerIn(off, read);
        const h = this.hdrI32;
        cur = { a: { src, ctx: h[0]!, tag: h[1]!, flags: h[2]!, len: h[3]! }, buf: new Uint8Array(h[3]!), got: 0 };
        this.inflight[src] = cur;
        n = HDR;
      } else {
        n = Math.min(avail, cur.a.len - cur.got);
        this.ringRead(off, read, cur.buf.subarray(cur.got, cur.got + n));
        cur.got += n;
      }
      Atomics.store(this.ctrl, r, (read + n) >>> 0);
      moved = true;
      if (cur.got === cur.a.len) {
        this.inflight[src] = null;
        this.complete(cur);
      }
    }
    // The sender may be waiting for ring space.
    if (moved) this.ring(src);
    return moved;
  }
}
