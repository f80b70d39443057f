import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../engine/wire/decoder.ts';
import { HEADER, Kind, MAGIC, VERSION, encodeFrame, errorPayload, parseError, type Frame } from '../engine/wire/frame.ts';

function collect(maxFrame = 1024) {
  const frames: Frame[] = [];
  const oversize: Array<{ id: number; len: number }> = [];
  const corrupt: string[] = [];
  const d = new FrameDecoder(maxFrame, {
    frame: (f) => frames.push({ ...f, payload: Buffer.from(f.payload) }),
    oversize: (h, len) => oversize.push({ id: h.id, len }),
    corrupt: (r) => corrupt.push(r),
  });
  return { d, frames, oversize, corrupt };
}
const head = { kind: Kind.CALL, place: 3, flags: 5, id: 0xdeadbeef, bundle: 513, code: 2 };

describe('wire framing', () => {
  it('round-trips every header field and the payload', () => {
    const c = collect();
    const bytes = encodeFrame(head, Buffer.from('hello'));
    expect(bytes.length).toBe(HEADER + 5);
    expect([bytes[0], bytes[1]]).toEqual([MAGIC, VERSION]);
    c.d.push(bytes);
    expect(c.frames).toHaveLength(1);
    const { payload, ...h } = c.frames[0]!;
    expect(h).toEqual(head);
    expect(Buffer.from(payload).toString()).toBe('hello');
  });

  it('decodes a batch of frames in one chunk and a frame split byte by byte', () => {
    const c = collect();
    const batch = Buffer.concat(Array.from({ length: 50 }, (_, i) => encodeFrame({ ...head, id: i }, Buffer.alloc(i, i))));
    c.d.push(batch);
    expect(c.frames.map((f) => f.id)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    c.frames.forEach((f, i) => expect(Buffer.from(f.payload).equals(Buffer.alloc(i, i))).toBe(true));
    const one = encodeFrame({ ...head, id: 99 }, Buffer.from('split'));
    for (const b of one) c.d.push(Buffer.from([b]));
    expect(c.frames.at(-1)!.id).toBe(99);
    expect(c.d.pending).toBe(0);
  });

  it('keeps a truncated frame pending and reports nothing until the rest arrives', () => {
    const c = collect();
    const f = encodeFrame(head, Buffer.alloc(100));
    c.d.push(f.subarray(0, 10));
    c.d.push(f.subarray(10, 60));
    expect(c.frames).toHaveLength(0);
    expect(c.d.pending).toBe(60);
    c.d.push(f.subarray(60));
    expect(c.frames).toHaveLength(1);
  });

  it('reports an oversize frame once, skips its bytes across chunks and decodes the next frame', () => {
    const c = collect(64);
    const big = encodeFrame({ ...head, id: 7 }, Buffer.alloc(1000));
    const next = encodeFrame({ ...head, id: 8 }, Buffer.from('ok'));
    const all = Buffer.concat([big, next]);
    c.d.push(all.subarray(0, 300));
    c.d.push(all.subarray(300, 900));
    c.d.push(all.subarray(900));
    expect(c.oversize).toEqual([{ id: 7, len: 1000 }]);
    expect(c.frames.map((f) => f.id)).toEqual([8]);
  });

  it('calls a stream that starts like HTTP corrupt and stops decoding it', () => {
    const c = collect();
    c.d.push(Buffer.from('POST /fn/x HTTP/1.1\r\n\r\n'));
    expect(c.corrupt[0]).toMatch(/bad magic 0x50/);
    c.d.push(encodeFrame(head, Buffer.alloc(1)));
    expect(c.frames).toHaveLength(0);
  });

  it('refuses an unknown protocol version', () => {
    const c = collect();
    const f = encodeFrame(head, Buffer.alloc(1));
    f[1] = 9;
    c.d.push(f);
    expect(c.corrupt[0]).toMatch(/version 9/);
  });

  it('carries error codes and messages in error payloads', () => {
    expect(parseError(errorPayload('E_NO_HANDLER', 'no handler 7'))).toEqual({ code: 'E_NO_HANDLER', message: 'no handler 7' });
  });
});
