// roam wire framing (spec: engine/wire/README.md). One 16-byte header, then the payload.
//  0  u8   magic 0xB7 (not ASCII: an HTTP request line cannot start with it)
//  1  u8   version (1)
//  2  u8   kind
//  3  u8   place (low 4 bits: requested in calls, the one that ran it in replies) | flags (high 4 bits)
//  4  u32  request id (echoed in the reply)
//  8  u16  bundle id
// 10  u16  handler type / region index / status
// 12  u32  payload length
export const MAGIC = 0xb7;
export const VERSION = 1;
export const HEADER = 16;
export const DEFAULT_MAX_FRAME = 1 << 20;

export const Kind = {
  CALL: 1,
  REPLY: 2,
  ERROR: 3,
  RESOLVE: 4,
  FETCH_BUNDLE: 5,
  REGION_READ: 6,
  REGION_WRITE: 7,
  REGION_ATOMIC: 8,
  STATS: 9,
  /** Client → server, first on a connection when the server has tokens: payload = the token (UTF-8);
   *  the reply's payload is JSON `{ "tenant": name | null }`. */
  AUTH: 10,
  /** Client → server (`roam serve --rdma`): payload = the client's UCX worker descriptor, JSON
   *  `{ address: hex, pid, host }`; the reply: JSON `{ address, pid, host, keys: hex[], transports }`
   *  (engine/rdma/host.ts). E_NO_RDMA when the server runs without --rdma. */
  RDMA_INFO: 11,
  /** Server → client, unasked (request id 0): a bundle this connection resolved or fetched has a new version
   *  (code 0) or was removed (code 1); header bundle id = its wire id, payload JSON `{ name, version }`. */
  BUNDLE_CHANGED: 12,
  /** A remote DPU agent (`roam dpu-agent --rdma`, engine/server/remote-agent.ts). Agent → server, after an
   *  admin AUTH: payload = its UCX worker descriptor (as RDMA_INFO's); the reply: JSON `{ window }`. Then
   *  server → agent: `code` AgentOp.DEPLOY (bundle = wire id; payload = u32 JSON length, RDMA_INFO's reply
   *  JSON for the agent, the bundle's bytes) or AgentOp.UNDEPLOY, and CALL frames the agent answers with
   *  REPLY (`code` = service time, µs, capped) or ERROR on the same connection. */
  AGENT: 13,
  /** Client → server: the client place's counters since the last report (engine/wire/client-stats.ts); the
   *  reply's payload is one byte, 1: keep reporting (a dashboard is open), 0: stop until woken. Server →
   *  client with request id 0 (never a request's id): a wake-up, payload 1: report again. */
  CLIENT_STATS: 14,
} as const;
/** `code` of an AGENT frame from the server. */
export const AgentOp = { DEPLOY: 1, UNDEPLOY: 2 } as const;
export type KindCode = (typeof Kind)[keyof typeof Kind];

/** Places on the wire. AUTO lets the receiver steer. */
export const Place = { AUTO: 0, CLIENT: 1, DPU: 2, HOST: 3 } as const;
export type PlaceName = 'auto' | 'client' | 'dpu' | 'host';
export const PLACE_NAMES: PlaceName[] = ['auto', 'client', 'dpu', 'host'];
export const placeCode = (p: PlaceName): number => PLACE_NAMES.indexOf(p);

/** Atomic operation codes in REGION_ATOMIC payloads. */
export const AtomicOp = { LOAD_U32: 1, STORE_U32: 2, CAS_U32: 3, ADD_U32: 4, CAS_U64: 5, ADD_U64: 6 } as const;

export interface Frame {
  kind: number;
  place: number;
  flags: number;
  id: number;
  bundle: number;
  code: number;
  payload: Uint8Array;
}

/** Writes a frame header at `at`, byte by byte (no DataView or view per frame: the reply path's hot loop). */
export function writeHeader(b: Uint8Array, at: number, kind: number, placeFlags: number, id: number, bundle: number, code: number, len: number): void {
  b[at] = MAGIC;
  b[at + 1] = VERSION;
  b[at + 2] = kind;
  b[at + 3] = placeFlags;
  b[at + 4] = id;
  b[at + 5] = id >>> 8;
  b[at + 6] = id >>> 16;
  b[at + 7] = id >>> 24;
  b[at + 8] = bundle;
  b[at + 9] = bundle >>> 8;
  b[at + 10] = code;
  b[at + 11] = code >>> 8;
  b[at + 12] = len;
  b[at + 13] = len >>> 8;
  b[at + 14] = len >>> 16;
  b[at + 15] = len >>> 24;
}

/** Encodes one frame into `out` at `at` (caller sized it); returns the new offset. */
export function writeFrame(out: Uint8Array, at: number, f: Omit<Frame, 'payload'>, payload: Uint8Array): number {
  writeHeader(out, at, f.kind, (f.place & 0x0f) | ((f.flags & 0x0f) << 4), f.id, f.bundle, f.code, payload.length);
  out.set(payload, at + HEADER);
  return at + HEADER + payload.length;
}

export function encodeFrame(f: Omit<Frame, 'payload'>, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  writeFrame(out, 0, f, payload);
  return out;
}

/** Error payload: UTF-8 "CODE message". */
export function errorPayload(code: string, message: string): Uint8Array {
  return Buffer.from(`${code} ${message}`, 'utf8');
}
export function parseError(p: Uint8Array): { code: string; message: string } {
  const s = Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8');
  const sp = s.indexOf(' ');
  return sp < 0 ? { code: s, message: s } : { code: s.slice(0, sp), message: s.slice(sp + 1) };
}
