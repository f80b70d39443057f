/**
 * The host functions a JS guest sees as `__roam_host.*`: thin adapters onto the very capability imports a
 * Wasm guest links (engine/capabilities, body included), so regions, log, clock and body run the same
 * checks at every place. A capability's "linear memory" here is the QuickJS engine's own: bytes the guest
 * hands over are copied out of its JS heap into an engine malloc block, and a region read lands in one that
 * becomes the guest's ArrayBuffer without another copy.
 */
import { RoamError } from '../errors.ts';

/** Host function ids (QTS_NewFunction's id), their JS names and the capability that offers them. */
export const HOST_FUNCTIONS: ReadonlyArray<readonly [name: string, capability: string]> = [
  ['log', 'log'],
  ['now', 'clock'],
  ['epoch', 'clock'],
  ['read', 'regions'],
  ['write', 'regions'],
  ['ld32', 'regions'],
  ['st32', 'regions'],
  ['cas32', 'regions'],
  ['add32', 'regions'],
  ['cas64', 'regions'],
  ['add64', 'regions'],
  ['bread', 'body'],
  ['bwrite', 'body'],
];

/** Host function ids: positions in HOST_FUNCTIONS. */
export const Op = { Log: 0, Now: 1, Epoch: 2, Read: 3, Write: 4, Ld32: 5, St32: 6, Cas32: 7, Add32: 8, Cas64: 9, Add64: 10, BRead: 11, BWrite: 12 } as const;

/** What a host call needs from the instance running it (js-instance.ts implements it). */
export interface HostSide {
  num(argv: number, i: number): number;
  str(argv: number, i: number): string;
  /** Argument i as the engine's UTF-8 C string: [ptr, byte length]; release it with freeCStr. */
  cstrArg(argv: number, i: number): [number, number];
  freeCStr(p: number): void;
  /** The guest's ArrayBuffer argument i, copied into an engine malloc block: [ptr, len]; free ptr after. */
  bytesArg(argv: number, i: number): [number, number];
  newNumber(n: number): number;
  newString(s: string): number;
  /** A new ArrayBuffer owning the engine malloc block ptr (len bytes). */
  newBuffer(ptr: number, len: number): number;
  malloc(n: number): number;
  free(p: number): void;
  /** Engine memory as bytes (refreshed after growth). */
  u8(): Uint8Array;
  /** Capability imports by capability name (built once per instance from the deployment's capabilities). */
  imports: Record<string, Record<string, (...a: any[]) => any>>;
}

const need = (h: HostSide, cap: string) => {
  const i = h.imports[cap];
  if (!i) throw new RoamError('E_CAPABILITY', `capability '${cap}' is not declared in the manifest`);
  return i;
};

/** Runs host function `op`; returns an owned JSValue* (0 = undefined). Throws RoamError on a refused access. */
export function hostCall(h: HostSide, op: number, argv: number): number {
  switch (op) {
    case Op.Log: {
      const log = need(h, 'log');
      // The engine's own UTF-8 copy of the string goes to roam:log as it is (no JS string on this side).
      const [p, n] = h.cstrArg(argv, 1);
      try {
        log.log!(h.num(argv, 0), p, Math.min(n, 4096));
      } finally {
        h.freeCStr(p);
      }
      return 0;
    }
    case Op.Now:
      return h.newNumber(need(h, 'clock').now_ms!());
    case Op.Epoch:
      return h.newNumber(need(h, 'clock').epoch_ms!());
    case Op.Read: {
      const r = need(h, 'regions');
      const len = h.num(argv, 2) >>> 0;
      const p = h.malloc(Math.max(len, 1));
      try {
        r.read!(h.num(argv, 0), h.num(argv, 1), p, len);
      } catch (e) {
        h.free(p);
        throw e;
      }
      return h.newBuffer(p, len);
    }
    case Op.Write: {
      const r = need(h, 'regions');
      const [p, n] = h.bytesArg(argv, 2);
      try {
        r.write!(h.num(argv, 0), h.num(argv, 1), p, n);
      } finally {
        h.free(p);
      }
      return 0;
    }
    case Op.Ld32:
      return h.newNumber(need(h, 'regions').load_u32!(h.num(argv, 0), h.num(argv, 1)) >>> 0);
    case Op.St32:
      need(h, 'regions').store_u32!(h.num(argv, 0), h.num(argv, 1), h.num(argv, 2));
      return 0;
    case Op.Cas32:
      return h.newNumber(need(h, 'regions').cas_u32!(h.num(argv, 0), h.num(argv, 1), h.num(argv, 2), h.num(argv, 3)) >>> 0);
    case Op.Add32:
      return h.newNumber(need(h, 'regions').fetch_add_u32!(h.num(argv, 0), h.num(argv, 1), h.num(argv, 2)) >>> 0);
    case Op.Cas64:
      return h.newString(BigInt.asUintN(64, need(h, 'regions').cas_u64!(h.num(argv, 0), h.num(argv, 1), big(h, argv, 2), big(h, argv, 3))).toString());
    case Op.Add64:
      return h.newString(BigInt.asUintN(64, need(h, 'regions').fetch_add_u64!(h.num(argv, 0), h.num(argv, 1), big(h, argv, 2))).toString());
    case Op.BRead: {
      const b = need(h, 'body');
      const len = Math.max(0, Math.min(h.num(argv, 1), 1 << 24));
      const p = h.malloc(Math.max(len, 1));
      let n: number;
      try {
        n = b.read!(h.num(argv, 0), p, len);
      } catch (e) {
        h.free(p);
        throw e;
      }
      return h.newBuffer(p, n);
    }
    case Op.BWrite: {
      const b = need(h, 'body');
      const [p, n] = h.bytesArg(argv, 0);
      try {
        return h.newNumber(b.write!(p, n));
      } finally {
        h.free(p);
      }
    }
    default:
      throw new RoamError('E_ABI', `unknown host function ${op}`);
  }
}

/** u64 arguments travel as decimal strings (QuickJS BigInts have no cheaper way across). */
function big(h: HostSide, argv: number, i: number): bigint {
  const s = h.str(argv, i);
  if (!/^\d{1,20}$/.test(s)) throw new RoamError('E_ABI', `u64 argument '${s.slice(0, 32)}' is not an unsigned integer`);
  return BigInt.asIntN(64, BigInt(s));
}
