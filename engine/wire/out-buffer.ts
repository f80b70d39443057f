import { HEADER, writeHeader } from './frame.ts';
import { putBytes } from '../bytes.ts';
import type { ByteStream } from './native-net.ts';

/**
 * Frames bound for one connection, encoded straight into one growing buffer and written with a single
 * write per event-loop turn (setImmediate), however many replies completed in that turn.
 */
export class OutBuffer {
  private buf: Buffer = Buffer.allocUnsafeSlow(64 * 1024);
  private len = 0;
  private scheduled = false;
  /** Called after each write to the stream (wire/flow.ts watches the connection's queue there). */
  onFlushed: (() => void) | null = null;

  constructor(private readonly stream: Pick<ByteStream, 'write' | 'copies'>) {}


  /** Encoded bytes not yet handed to the stream. */
  get length(): number {
    return this.len;
  }

  /** Appends one frame; `payload` is copied now, so it may be a view into memory reused right after. */
  frame(kind: number, placeFlags: number, id: number, bundle: number, code: number, payload: Uint8Array): void {
    const need = this.len + HEADER + payload.length;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    writeHeader(this.buf, this.len, kind, placeFlags, id, bundle, code, payload.length);
    putBytes(this.buf, this.len + HEADER, payload);
    this.len = need;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.len === 0) return;
    if (this.stream.copies) {
      // Taken before write returns (native-net.ts): the buffer is reused as it is.
      const n = this.len;
      this.len = 0;
      this.stream.write(this.buf, n);
      // Grown past what backpressure lets it reach (flow.ts: 4 MiB and one frame): give the memory back.
      if (this.buf.length > 8 << 20) this.buf = Buffer.allocUnsafeSlow(64 * 1024);
      return this.onFlushed?.();
    }
    // The socket keeps what it is given until written: small batches are copied out (pooled allocation),
    // large ones are handed over and encoding continues in another buffer; a buffer the socket has written
    // comes back for reuse (a slow reader's MiBs of replies were garbage left for the GC, +100 MB RSS).
    if (this.len <= 16 * 1024) {
      const out = Buffer.from(this.buf.subarray(0, this.len));
      this.len = 0;
      this.stream.write(out, out.length);
    } else {
      const n = this.len;
      const out = this.buf;
      this.inFlight.push(out);
      this.buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(64 * 1024);
      this.len = 0;
      this.stream.write(out, n, this.written);
    }
    this.onFlushed?.();
  }

  private readonly spare: Buffer[] = [];
  private readonly inFlight: Buffer[] = [];
  /** A handed-over buffer was written (socket writes complete in order): keep up to two for reuse. */
  private readonly written = (): void => {
    const b = this.inFlight.shift();
    if (b && this.spare.length < 2 && b.length <= 8 << 20) this.spare.push(b);
  };
}
