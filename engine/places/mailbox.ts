// A slot table in shared memory (SharedArrayBuffer, or POSIX shm for the DPU agent): the server writes a
// message into a free slot and rings a doorbell with the slot's index; the place runs it and writes the
// reply into the same slot. Payloads never cross a structured clone, and because slot states live in the
// shared bytes, the server can tell after a place dies which messages ran, which did not, and which
// were mid-flight.
//
// slot = 32-byte header (8 × i32) + data
//   [0] state  [1] bundle id  [2] handler type  [3] input length
//   [4] status (0 ok, 1 error)  [5] output length  [6] service time, ns  [7] fuel used
export const SlotState = { FREE: 0, QUEUED: 1, RUNNING: 2, DONE: 3 } as const;
export const SLOT_HEADER = 32;

export interface MailboxShape {
  slots: number;
  slotSize: number;
}

export function mailboxBytes(shape: MailboxShape): number {
  return shape.slots * shape.slotSize;
}

export class Mailbox {
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly capacity: number;

  constructor(readonly buffer: ArrayBufferLike, readonly shape: MailboxShape) {
    this.i32 = new Int32Array(buffer, 0, mailboxBytes(shape) >> 2);
    this.u8 = new Uint8Array(buffer, 0, mailboxBytes(shape));
    this.capacity = shape.slotSize - SLOT_HEADER;
  }

  /** Index of the slot's header in i32. */
  h(slot: number): number {
    return (slot * this.shape.slotSize) >> 2;
  }

  state(slot: number): number {
    return Atomics.load(this.i32, this.h(slot));
  }

  setState(slot: number, s: number): void {
    Atomics.store(this.i32, this.h(slot), s);
  }

  /** Claims a queued slot for running; false when someone else (or a recovery) got it first. */
  claim(slot: number): boolean {
    return Atomics.compareExchange(this.i32, this.h(slot), SlotState.QUEUED, SlotState.RUNNING) === SlotState.QUEUED;
  }

  /** Server side: writes a message and marks it queued. Caller checked payload.length ≤ capacity. */
  put(slot: number, bundle: number, handler: number, payload: Uint8Array): void {
    const h = this.h(slot);
    this.i32[h + 1] = bundle;
    this.i32[h + 2] = handler;
    this.i32[h + 3] = payload.length;
    this.u8.set(payload, slot * this.shape.slotSize + SLOT_HEADER);
    Atomics.store(this.i32, h, SlotState.QUEUED);
  }

  /** Place side: the message input as a view into the slot. */
  input(slot: number): Uint8Array {
    const at = slot * this.shape.slotSize + SLOT_HEADER;
    return this.u8.subarray(at, at + this.i32[this.h(slot) + 3]!);
  }

  /** Place side: writes the outcome and marks the slot done (the store publishes the bytes). */
  finish(slot: number, status: 0 | 1, out: Uint8Array, serviceNs: number, fuel: number): void {
    const h = this.h(slot);
    let bytes = out;
    if (bytes.length > this.capacity) {
      status = 1;
      bytes = Buffer.from(`E_REPLY_TOO_LARGE reply of ${out.length} bytes exceeds the ${this.capacity}-byte slot`);
    }
    this.u8.set(bytes, slot * this.shape.slotSize + SLOT_HEADER);
    this.i32[h + 4] = status;
    this.i32[h + 5] = bytes.length;
    this.i32[h + 6] = Math.min(serviceNs, 0x7fffffff);
    this.i32[h + 7] = Math.min(fuel, 0x7fffffff);
    Atomics.store(this.i32, h, SlotState.DONE);
  }

  /** Server side: the reply bytes as a view into the slot (valid until the slot is freed). */
  replyView(slot: number): Uint8Array {
    const at = slot * this.shape.slotSize + SLOT_HEADER;
    return this.u8.subarray(at, at + this.i32[this.h(slot) + 5]!);
  }

  /** Server side: reads the outcome (copied) and frees the slot. */
  take(slot: number): { status: number; out: Uint8Array; serviceNs: number; fuel: number } {
    const h = this.h(slot);
    const at = slot * this.shape.slotSize + SLOT_HEADER;
    const r = { status: this.i32[h + 4]!, out: this.u8.slice(at, at + this.i32[h + 5]!), serviceNs: this.i32[h + 6]!, fuel: this.i32[h + 7]! };
    Atomics.store(this.i32, h, SlotState.FREE);
    return r;
  }
}
