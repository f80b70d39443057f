// Streaming bodies (capability `body`, module roam:body): `import { BodyReader, writeBody } from "roam/body";`
// The request body stays with the host and is read in chunks; the reply body may be written in chunks.
// Only a bundle that declares the capability may import this module (it imports roam:body).
import { Request, setBodyPull } from "./http";

@external("roam:body", "read")
declare function host_read(offset: i32, ptr: usize, len: i32): i32;
@external("roam:body", "write")
declare function host_write(ptr: usize, len: i32): i32;

function pull(offset: i32, ptr: usize, len: i32): i32 {
  return host_read(offset, ptr, len);
}
// Lets Request.body / bodyText() read a streamed body whole, when a function asks for it.
setBodyPull(pull);

/** Copies up to `len` body bytes from `offset` to `ptr`; returns how many (0 at the end). Traps past the end. */
export function readBodyAt(offset: i32, ptr: usize, len: i32): i32 {
  return host_read(offset, ptr, len);
}

/** Reads the request body in chunks into one reused buffer: `while ((n = r.next()) > 0) use(r.chunk, n)`. */
export class BodyReader {
  /** Where the next read starts. */
  offset: i32 = 0;
  readonly chunk: Uint8Array;

  constructor(public req: Request, chunkSize: i32 = 64 * 1024) {
    this.chunk = new Uint8Array(chunkSize);
  }

  /** Fills `chunk` with the next bytes; returns how many (0 at the end of the body). */
  next(): i32 {
    if (!this.req.streamed) {
      // An inline body (a bundle built with this module but called with the body in its input).
      const n = min(this.chunk.length, this.req.bodyLength - this.offset);
      if (n <= 0) return 0;
      memory.copy(this.chunk.dataStart, this.req.bAt + <usize>this.offset, <usize>n);
      this.offset += n;
      return n;
    }
    const n = host_read(this.offset, this.chunk.dataStart, this.chunk.length);
    this.offset += n;
    return n;
  }
}

/** Appends `n` bytes of `bytes` (all by default) to the reply body; returns the reply body's length so far.
 *  Then reply with a Response without a body (`respond(new Response(200))`): the host puts these bytes after it. */
export function writeBody(bytes: Uint8Array, n: i32 = -1): i32 {
  const len = n < 0 ? bytes.length : min(n, bytes.length);
  return host_write(bytes.dataStart, len);
}

/** Appends `len` bytes at `ptr` to the reply body (raw form of writeBody). */
export function writeBodyAt(ptr: usize, len: i32): i32 {
  return host_write(ptr, len);
}
