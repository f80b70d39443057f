/**
 * The CLIENT_STATS payload (wire README, kind 14): what a client place ran since its last report, so the
 * server's dashboard can show a `client` place row. Binary and sparse, little-endian:
 *
 *   u32 messages   completed since the last report (replies and errors)
 *   u32 errors     of those, failed
 *   u32 queue      messages waiting or running at the client place now
 *   u16 n          histogram entries that follow
 *   n × (u16 bucket, u32 count)   reply-time counts since the last report (engine/places/latency.ts buckets),
 *                                 buckets strictly increasing, counts summing to `messages`
 *
 * At most 14 + 6 × LATENCY_BUCKETS = 1406 bytes. Anything else is refused whole (decode throws).
 */
import { RoamError } from '../errors.ts';
import { LATENCY_BUCKETS } from '../places/latency.ts';

export const REPORT_HEAD = 14;
export const MAX_REPORT_BYTES = REPORT_HEAD + 6 * LATENCY_BUCKETS;
/** Reply payloads (and the server's wake-up push). */
export const REPORT_MORE = 1;
export const REPORT_STOP = 0;

export interface ClientReport {
  messages: number;
  errors: number;
  queue: number;
  /** Reply-time counts since the last report, sparse: counts[i] messages in bucket buckets[i]. */
  buckets: Uint16Array;
  counts: Uint32Array;
}

/** Encodes a report; `latency` counts are sent sparse (zero buckets cost nothing). */
export function encodeClientReport(r: { messages: number; errors: number; queue: number; latency: ArrayLike<number> }): Buffer {
  let n = 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) if (r.latency[i]! > 0) n++;
  const b = Buffer.alloc(REPORT_HEAD + 6 * n);
  b.writeUInt32LE(r.messages, 0);
  b.writeUInt32LE(r.errors, 4);
  b.writeUInt32LE(Math.min(r.queue, 0xffffffff), 8);
  b.writeUInt16LE(n, 12);
  let at = REPORT_HEAD;
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    if (!(r.latency[i]! > 0)) continue;
    b.writeUInt16LE(i, at);
    b.writeUInt32LE(r.latency[i]!, at + 2);
    at += 6;
  }
  return b;
}

/** Decodes and checks a report; throws RoamError E_TOO_LARGE or E_FRAME naming what is wrong. */
export function decodeClientReport(p: Uint8Array): ClientReport {
  if (p.length > MAX_REPORT_BYTES) throw new RoamError('E_TOO_LARGE', `client stats report of ${p.length} bytes exceeds ${MAX_REPORT_BYTES}`);
  if (p.length < REPORT_HEAD) throw new RoamError('E_FRAME', `client stats report of ${p.length} bytes is shorter than its ${REPORT_HEAD}-byte head`);
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const messages = v.getUint32(0, true), errors = v.getUint32(4, true), queue = v.getUint32(8, true), n = v.getUint16(12, true);
  if (p.length !== REPORT_HEAD + 6 * n) throw new RoamError('E_FRAME', `client stats report says ${n} histogram entries but carries ${p.length - REPORT_HEAD} bytes of them`);
  if (errors > messages) throw new RoamError('E_FRAME', `client stats report has more errors (${errors}) than messages (${messages})`);
  const buckets = new Uint16Array(n), counts = new Uint32Array(n);
  let last = -1, sum = 0;
  for (let i = 0, at = REPORT_HEAD; i < n; i++, at += 6) {
    const bucket = v.getUint16(at, true), count = v.getUint32(at + 2, true);
    if (bucket <= last || bucket >= LATENCY_BUCKETS) throw new RoamError('E_FRAME', `client stats report: histogram bucket ${bucket} out of order or past ${LATENCY_BUCKETS - 1}`);
    last = bucket;
    buckets[i] = bucket;
    counts[i] = count;
    sum += count;
  }
  if (sum !== messages) throw new RoamError('E_FRAME', `client stats report: histogram counts ${sum} messages, the head ${messages}`);
  return { messages, errors, queue, buckets, counts };
}
