/**
 * roam:body — the pull-style body ABI: a function reads its request body from the host in chunks and may
 * write its reply body in chunks, so a large body is never held whole in linear memory (and never held
 * twice by the host) unless the guest asks for it.
 *
 * A bundle opts in by declaring the capability `body`. Then, for each of its functions:
 * - the request copied into linear memory is the head only: it ends with the body's u32 length field
 *   (the real length) and the function's argument is that head's size; the body stays where the host
 *   holds it (the payload-pool slot or shared buffer the gateway streamed it into, or in a chain the
 *   previous hop's reply), and the guest pulls it:
 *     read(offset, ptr, len) -> n   copies body[offset, offset+n) to [ptr, ptr+n), n = min(len, left);
 *                                   0 at the end. offset past the end, a negative offset or length: trap
 *                                   E_BODY; a destination outside linear memory: trap E_GUEST_BOUNDS.
 * - the reply may carry its body inline as before, or the function appends it with
 *     write(ptr, len) -> total      appends [ptr, ptr+len) to the reply body, returns its length so far;
 *                                   past MAX_STREAMED_REPLY: trap E_BODY.
 *   and then returns a response whose body is empty: the host puts the written bytes after its head.
 *   A response with both an inline body and written bytes fails with E_ABI.
 * Written bytes go straight into a host buffer that grows in place (a resizable ArrayBuffer) with room
 * for the response head before them, so the finished reply is head + body with no second copy; a
 * worker hands that buffer to the gateway by transfer.
 */
import { RoamError } from '../errors.ts';
import type { Capability, GuestContext } from './capability.ts';

/** Largest reply body a function may write with `write` (virtual reservation; pages are committed as written). */
export const MAX_STREAMED_REPLY = 256 * 1024 * 1024;
/** Room kept before the written body for the response head (a larger head is copied once). */
const HEADROOM = 4096;
/** Key of the per-instance BodyIO in GuestContext.state. */
export const BODY_STATE = 'body';

/** A reply body written in chunks, with room for the response head in front. */
export class ReplySink {
  private buf: ArrayBuffer;
  private u8: Uint8Array;
  private end = HEADROOM;

  constructor(first: number) {
    const want = HEADROOM + Math.max(first, 64 * 1024);
    // Resizable: grows in place (no copy of what was written), and transfers to the gateway like any buffer.
    this.buf = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(Math.min(want, HEADROOM + MAX_STREAMED_REPLY), { maxByteLength: HEADROOM + MAX_STREAMED_REPLY });
    this.u8 = new Uint8Array(this.buf);
  }

  get length(): number {
    return this.end - HEADROOM;
  }

  append(bytes: Uint8Array): number {
    const need = this.end + bytes.length;
    if (need > HEADROOM + MAX_STREAMED_REPLY) throw new RoamError('E_BODY', `reply body written with roam:body.write passed ${MAX_STREAMED_REPLY} bytes`);
    if (need > this.buf.byteLength) {
      (this.buf as unknown as { resize(n: number): void }).resize(Math.min(Math.max(need, this.buf.byteLength * 2), HEADROOM + MAX_STREAMED_REPLY));
      this.u8 = new Uint8Array(this.buf);
    }
    this.u8.set(bytes, this.end);
    this.end = need;
    return this.end - HEADROOM;
  }

  /** The finished reply: `head` (the response up to, not including, its body length field), the length, the body. */
  finish(head: Uint8Array): Uint8Array {
    const bodyLen = this.end - HEADROOM;
    if (head.length + 4 <= HEADROOM) {
      const at = HEADROOM - 4 - head.length;
      this.u8.set(head, at);
      new DataView(this.buf).setUint32(HEADROOM - 4, bodyLen, true);
      return this.u8.subarray(at, this.end);
    }
    const out = new Uint8Array(head.length + 4 + bodyLen);
    out.set(head, 0);
    new DataView(out.buffer).setUint32(head.length, bodyLen, true);
    out.set(this.u8.subarray(HEADROOM, this.end), head.length + 4);
    return out;
  }
}

/** One instance's body I/O during a call: the request body it may read, the reply body it has written. */
export class BodyIO {
  src: Uint8Array = new Uint8Array(0);
  sink: ReplySink | null = null;

  begin(src: Uint8Array): void {
    this.src = src;
    this.sink = null;
  }

  /** Drops the call's buffers (the body belongs to the caller; a sink to the reply). */
  end(): void {
    this.src = EMPTY;
    this.sink = null;
  }
}
const EMPTY = new Uint8Array(0);

function io(ctx: GuestContext): BodyIO {
  const b = ctx.state.get(BODY_STATE) as BodyIO | undefined;
  if (!b) throw new RoamError('E_BODY', 'roam:body is not available to this instance');
  return b;
}

export const body: Capability = {
  name: 'body',
  module: 'roam:body',
  functions: { read: '(i32,i32,i32)->i32', write: '(i32,i32)->i32' },
  imports: (ctx) => ({
    read(offset: number, ptr: number, len: number): number {
      const src = io(ctx).src;
      if (offset < 0 || len < 0 || offset > src.length) throw new RoamError('E_BODY', `body read of ${len} bytes at offset ${offset} is outside the ${src.length}-byte request body`);
      const dst = ctx.bytes(ptr, len); // E_GUEST_BOUNDS when the destination is not in linear memory
      const n = Math.min(len, src.length - offset);
      dst.set(src.subarray(offset, offset + n));
      return n;
    },
    write(ptr: number, len: number): number {
      const b = io(ctx);
      if (len < 0) throw new RoamError('E_BODY', `body write of a negative length (${len})`);
      const bytes = ctx.bytes(ptr, len);
      b.sink ??= new ReplySink(len);
      return b.sink.append(bytes);
    },
  }),
};
