import { HEADER, MAGIC, VERSION, type Frame } from './frame.ts';

export interface DecoderEvents {
  frame(f: Frame): void;
  /** A frame whose payload exceeds maxFrame: its bytes are skipped, the stream stays usable. */
  oversize(header: Omit<Frame, 'payload'>, length: number): void;
  /** The stream is not roam framing (bad magic): the caller should reply and close. */
  corrupt(reason: string): void;
}

const u32 = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const EMPTY = Buffer.alloc(0);

/**
 * Incremental frame parser for a byte stream. Payloads are copied out only when a frame spans
 * chunks; otherwise they are views into the chunk (valid until the handler returns). The Frame handed
 * to `frame` is one object reused for every frame: read it, do not keep it.
 */
export class FrameDecoder {
  private buf: Buffer = EMPTY;
  private skip = 0;
  private dead = false;
  private readonly f: Frame = { kind: 0, place: 0, flags: 0, id: 0, bundle: 0, code: 0, payload: new Uint8Array(0) };

  constructor(private readonly maxFrame: number, private readonly on: DecoderEvents) {}

  push(chunk: Buffer): void {
    if (this.dead) return;
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    const b = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let at = 0;
    while (b.length - at >= HEADER) {
      if (b[at] !== MAGIC) {
        this.dead = true;
        this.on.corrupt(`bad magic 0x${b[at]!.toString(16)} at frame start (expected 0x${MAGIC.toString(16)})`);
        return;
      }
      if (b[at + 1] !== VERSION) {
        this.dead = true;
        this.on.corrupt(`unsupported protocol version ${b[at + 1]} (this side speaks ${VERSION})`);
        return;
      }
      const len = u32(b, at + 12);
      if (len > this.maxFrame) {
        const head = { kind: b[at + 2]!, place: b[at + 3]! & 0x0f, flags: b[at + 3]! >> 4, id: u32(b, at + 4), bundle: u16(b, at + 8), code: u16(b, at + 10) };
        const have = Math.min(len, b.length - at - HEADER);
        this.skip = len - have;
        at += HEADER + have;
        this.on.oversize(head, len);
        continue;
      }
      if (b.length - at - HEADER < len) break;
      const f = this.f;
      f.kind = b[at + 2]!;
      f.place = b[at + 3]! & 0x0f;
      f.flags = b[at + 3]! >> 4;
      f.id = u32(b, at + 4);
      f.bundle = u16(b, at + 8);
      f.code = u16(b, at + 10);
      f.payload = new Uint8Array(b.buffer, b.byteOffset + at + HEADER, len);
      this.on.frame(f);
      if (this.dead) return;
      at += HEADER + len;
    }
    this.buf = at === b.length ? EMPTY : Buffer.from(b.subarray(at));
  }

  /** Bytes of an incomplete frame still buffered (non-zero at close = truncated frame). */
  get pending(): number {
    return this.buf.length + this.skip;
  }

  kill(): void {
    this.dead = true;
  }
}
