import { HEADER, writeHeader } from './frame.ts';
import { putBytes } from '../bytes.ts';
import type { ByteStream } from './native-net.ts';

/**
 * Frames bound for one connection, encoded straight into one growing buffer and written with a single
 * write per event-loop turn (setImmediate), however many replies completed in that turn.
 */
export class OutBuffer {
  private buf = Buffer.allocUnsafeSlow(64 * 1024);
  private len = 0;
  private scheduled = false;

  constructor(private readonly stream: Pick<ByteStream, 'write' | 'copies'>) {}

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
      return this.stream.write(this.buf, n);
    }
    // The socket keeps what it is given until written: small batches are copied out (pooled allocation),
    // large ones are handed over and encoding continues in a fresh buffer.
    let out: Buffer;
    if (this.len <= 16 * 1024) out = Buffer.from(this.buf.subarray(0, this.len));
    else {
      out = this.buf.subarray(0, this.len);
      this.buf = Buffer.allocUnsafeSlow(Math.max(64 * 1024, Math.min(this.buf.length, 1 << 20)));
    }
    this.len = 0;
    this.stream.write(out, out.length);
  }
}
