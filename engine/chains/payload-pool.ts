/**
 * A payload pool in one SharedArrayBuffer, shared by the gateway thread and every worker: a payload is
 * written once and then handed between co-located functions as a descriptor (slot, length). Fixed-size
 * slots with a lock-free bitmap (Atomics CAS) so any thread may allocate and free without a lock or a
 * round trip to the main thread. Payloads bigger than a slot do not fit and travel in the message instead.
 */
export interface Descriptor {
  /** Byte offset of the payload in the pool. */
  offset: number;
  length: number;
}

export interface PayloadPoolInit {
  buffer: SharedArrayBuffer;
  slotSize: number;
  slots: number;
}

export class PayloadPool {
  readonly slotSize: number;
  readonly slots: number;
  readonly u8: Uint8Array;
  private readonly bits: Int32Array;
  private readonly dataStart: number;
  private hint = 0;

  /** Creates a pool (`slots` × `slotSize` bytes) or attaches to one made elsewhere (`PayloadPool.attach`). */
  constructor(readonly init: PayloadPoolInit) {
    this.slotSize = init.slotSize;
    this.slots = init.slots;
    const words = Math.ceil(init.slots / 32);
    this.bits = new Int32Array(init.buffer, 0, words);
    this.dataStart = Math.ceil((words * 4) / 64) * 64;
    this.u8 = new Uint8Array(init.buffer);
  }

  static create(slotSize = 64 * 1024, slots = 256): PayloadPool {
    const words = Math.ceil(slots / 32);
    const header = Math.ceil((words * 4) / 64) * 64;
    return new PayloadPool({ buffer: new SharedArrayBuffer(header + slotSize * slots), slotSize, slots });
  }

  static attach(init: PayloadPoolInit): PayloadPool {
    return new PayloadPool(init);
  }

  /** Reserves a slot for `length` bytes; null when it does not fit or the pool is full. */
  alloc(length: number): Descriptor | null {
    if (length > this.slotSize) return null;
    const words = this.bits.length;
    for (let n = 0; n < words; n++) {
      const w = (this.hint + n) % words;
      for (;;) {
        const cur = Atomics.load(this.bits, w);
        if (cur === -1) break;
        const bit = 31 - Math.clz32(~cur & (cur + 1)); // lowest clear bit
        const slot = w * 32 + bit;
        if (slot >= this.slots) break;
        if (Atomics.compareExchange(this.bits, w, cur, cur | (1 << bit)) === cur) {
          this.hint = w;
          return { offset: this.dataStart + slot * this.slotSize, length };
        }
      }
    }
    return null;
  }

  free(d: Descriptor): void {
    const slot = (d.offset - this.dataStart) / this.slotSize;
    Atomics.and(this.bits, slot >>> 5, ~(1 << (slot & 31)));
  }

  /** The payload's bytes, in place (no copy). */
  view(d: Descriptor): Uint8Array {
    return this.u8.subarray(d.offset, d.offset + d.length);
  }

  /** Slots in use (for stats). */
  used(): number {
    let n = 0;
    for (let w = 0; w < this.bits.length; w++) {
      let v = Atomics.load(this.bits, w) >>> 0;
      while (v) {
        v &= v - 1;
        n++;
      }
    }
    return n;
  }
}
