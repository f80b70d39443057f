// A single-producer single-consumer ring of slot indexes in a SharedArrayBuffer, with a doorbell flag.
// The producer rings (Atomics.notify on the flag) only when the consumer has gone idle, so while a host
// worker is busy the server keeps appending and the worker takes whole batches without any wake-up at
// all; the same holds for completions flowing back. An idle consumer waits with Atomics.waitAsync, so
// its event loop stays free for control messages (measured: notify + waitAsync costs far less than a
// postMessage doorbell, which was 12 % of the server thread over the wire).
//
// layout (i32): [0] head (consumer) [1] tail (producer) [2] awake (1 while the consumer is draining)
// [3] pad, then `capacity` entries. Indexes grow monotonically (wrapping i32); entry = index & mask.
const CTL = 4;
// Atomics.waitAsync ships in Node 20 (V8 11.3) but not in this TypeScript lib.
type WaitAsync = (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<unknown> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class SlotRing {
  private readonly i32: Int32Array;
  private readonly mask: number;

  /** Bytes a ring of `capacity` (a power of two ≥ the slots that can be in flight) needs. */
  static bytes(capacity: number): number {
    return (CTL + capacity) * 4;
  }

  constructor(buffer: SharedArrayBuffer, byteOffset: number, readonly capacity: number) {
    if (capacity & (capacity - 1)) throw new Error(`ring capacity ${capacity} is not a power of two`);
    this.i32 = new Int32Array(buffer, byteOffset, CTL + capacity);
    this.mask = capacity - 1;
  }

  /** Producer: appends one slot index (visible to the consumer at once). Never overflows: capacity ≥ slots. */
  push(slot: number): void {
    const t = this.i32[1]!;
    this.i32[CTL + (t & this.mask)] = slot;
    Atomics.store(this.i32, 1, (t + 1) | 0);
  }

  /** Producer, after pushing: wakes the consumer if it was idle. */
  wake(): void {
    if (Atomics.exchange(this.i32, 2, 1) === 0) Atomics.notify(this.i32, 2);
  }

  /**
   * Consumer: calls `fn` when the producer next rings (at once, in a microtask, if it already has).
   * Call only after sleep() returned false.
   */
  whenRung(fn: () => void): void {
    const w = waitAsync(this.i32, 2, 0);
    if (w.async) void (w.value as Promise<unknown>).then(fn);
    else queueMicrotask(fn);
  }

  /** Consumer: takes everything queued so far into `out` (cleared first); returns the count. */
  drain(out: number[]): number {
    out.length = 0;
    let h = this.i32[0]!;
    const t = Atomics.load(this.i32, 1);
    for (; h !== t; h = (h + 1) | 0) out.push(this.i32[CTL + (h & this.mask)]!);
    Atomics.store(this.i32, 0, t);
    return out.length;
  }

  /**
   * Consumer, before going idle: clears the flag, then re-checks. True when entries arrived meanwhile and
   * this consumer took the flag back (it must drain again); false when idle (a later push rings).
   */
  sleep(): boolean {
    Atomics.store(this.i32, 2, 0);
    if (Atomics.load(this.i32, 1) === this.i32[0]) return false;
    return Atomics.compareExchange(this.i32, 2, 0, 1) === 0;
  }
}

/**
 * A host lane's control buffer: submission ring, completion ring, the worker's f64 busy ns, i32
 * deploys posted to the worker (it runs no slot before it has received that many: messages on the ring
 * may overtake the postMessage that deploys their bundle), then two i32 of what the worker holds
 * (bundles compiled, modules in its compiled-module cache), read by STATS.
 */
export interface LaneLayout {
  ctl: SharedArrayBuffer;
  ringCapacity: number;
}
export const laneBytes = (cap: number) => 2 * SlotRing.bytes(cap) + 24;
export const laneRings = (l: LaneLayout) => ({
  sub: new SlotRing(l.ctl, 0, l.ringCapacity),
  done: new SlotRing(l.ctl, SlotRing.bytes(l.ringCapacity), l.ringCapacity),
  busy: new Float64Array(l.ctl, 2 * SlotRing.bytes(l.ringCapacity), 1),
  deploys: new Int32Array(l.ctl, 2 * SlotRing.bytes(l.ringCapacity) + 8, 1),
  /** The worker's bundles compiled and modules in its compiled-module cache (SlotRunner.memory), for STATS. */
  mem: new Int32Array(l.ctl, 2 * SlotRing.bytes(l.ringCapacity) + 16, 2),
});
