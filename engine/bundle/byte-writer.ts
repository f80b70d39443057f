/**
 * A growable byte buffer. The meter rewrites modules of many megabytes (a JS engine inside a
 * component); plain number[] with spread pushes overflow the stack and cost ~8 bytes per byte.
 */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(capacity);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  bytes(b: ArrayLike<number>): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Appends src[start, end) without an intermediate copy. */
  copy(src: Uint8Array, start: number, end: number): void {
    this.bytes(src.subarray(start, end));
  }

  /** Removes [at, at + n), moving what follows down. */
  cut(at: number, n: number): void {
    this.buf.copyWithin(at, at + n, this.len);
    this.len -= n;
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
