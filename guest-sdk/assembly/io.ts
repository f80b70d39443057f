// Message I/O buffers. Unmanaged (heap.alloc), so the GC never moves or frees them between calls.

let inBuf: usize = 0;
let inCap: i32 = 0;
let outBuf: usize = 0;
let outCap: i32 = 0;

/** Host calls this before writing an input of `len` bytes; the pointer stays valid until the next call. */
export function inputBuffer(len: i32): usize {
  if (len > inCap) {
    if (inBuf) heap.free(inBuf);
    inCap = max(len, 256);
    inBuf = heap.alloc(<usize>inCap);
  }
  return inBuf;
}

/** Where the reply of the last call starts. */
export function outputBuffer(): usize {
  return outBuf;
}

/** Pointer to the current message's input bytes (its length is the handler's argument). */
export function inputPtr(): usize {
  return inBuf;
}

/** Copies the input into a managed array (convenient; handlers on hot paths read inputPtr() directly). */
export function input(len: i32): Uint8Array {
  const a = new Uint8Array(len);
  memory.copy(a.dataStart, inBuf, <usize>len);
  return a;
}

/** Reserves `len` reply bytes and returns where to write them; return `len` from the handler. */
export function output(len: i32): usize {
  if (len > outCap) {
    if (outBuf) heap.free(outBuf);
    outCap = max(len, 256);
    outBuf = heap.alloc(<usize>outCap);
  }
  return outBuf;
}

/** Copies `data` as the reply; `return reply(x)` from a handler. */
export function reply(data: Uint8Array): i32 {
  memory.copy(output(data.length), data.dataStart, <usize>data.length);
  return data.length;
}

/** Replies with a UTF-8 string. */
export function replyString(s: string): i32 {
  return reply(Uint8Array.wrap(String.UTF8.encode(s)));
}

/** Fails this message with an application error code (1..65535) and a message; `return fail(404, "no such key")`.
 *  The error reply is [u32 length][UTF-8 message]. */
export function fail(code: i32, message: string): i32 {
  const utf8 = String.UTF8.encode(message);
  const p = output(4 + utf8.byteLength);
  store<u32>(p, <u32>utf8.byteLength);
  memory.copy(p + 4, changetype<usize>(utf8), <usize>utf8.byteLength);
  return -max(1, code);
}
