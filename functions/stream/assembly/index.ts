// Streaming bodies (capability `body`): the request body is read from the host in 64 KiB chunks and the
// reply body written in chunks, so an upload far larger than this bundle's 512 KiB of linear memory is
// processed without ever being held in it.
import { request, respond, Response } from "roam";
import { BodyReader, writeBody } from "roam/body";

/** POST /fn/wc: bytes, lines and words of the body, and its FNV-1a 64-bit checksum, as JSON. */
export function wc(len: i32): i32 {
  const r = new BodyReader(request(len));
  let bytes: i64 = 0;
  let lines: i64 = 0;
  let words: i64 = 0;
  let inWord = false;
  let h: u64 = 0xcbf29ce484222325;
  let n = 0;
  while ((n = r.next()) > 0) {
    const p = r.chunk.dataStart;
    for (let i = 0; i < n; i++) {
      const c = load<u8>(p + <usize>i);
      h = (h ^ <u64>c) * 0x100000001b3;
      if (c == 10) lines++;
      const space = c == 32 || c == 10 || c == 9 || c == 13;
      if (!space && !inWord) words++;
      inWord = !space;
    }
    bytes += n;
  }
  return respond(Response.json(200, '{"bytes":' + bytes.toString() + ',"lines":' + lines.toString() + ',"words":' + words.toString() + ',"fnv":"' + h.toString(16) + '"}'));
}

/** POST /fn/shout: the body back with ASCII letters upper-cased, transformed and written chunk by chunk. */
export function shout(len: i32): i32 {
  const req = request(len);
  const r = new BodyReader(req);
  let n = 0;
  while ((n = r.next()) > 0) {
    const p = r.chunk.dataStart;
    for (let i = 0; i < n; i++) {
      const c = load<u8>(p + <usize>i);
      if (c >= 97 && c <= 122) store<u8>(p + <usize>i, c - 32);
    }
    writeBody(r.chunk, n);
  }
  const type = req.header("content-type");
  const res = new Response(200);
  if (type != null) res.setHeader("content-type", type);
  return respond(res);
}

/** POST /fn/whole: the simple API on a streamed body: `req.body` reads it whole into linear memory
 *  (so a body near the memory limit fails with E_MEMORY_LIMIT, where wc goes through). */
export function whole(len: i32): i32 {
  const b = request(len).body;
  let h: u64 = 0xcbf29ce484222325;
  for (let i = 0; i < b.length; i++) h = (h ^ <u64>b[i]) * 0x100000001b3;
  return respond(Response.json(200, '{"bytes":' + b.length.toString() + ',"fnv":"' + h.toString(16) + '"}'));
}
