// The roam_ucx addon (native-host/src/ucx.cc): loaded once per thread, with UCX told to keep out of V8.
import { createRequire } from 'node:module';
import { UCX_ENV } from '../../native-host/index.ts';

/** The raw addon; engine/rdma/worker.ts is the typed face. Statuses: 0 done, 1 pending, < 0 failed. */
export interface UcxAddon {
  open(onEvents: (n: number, comps: Int32Array, events?: RawEvent[]) => void): { address: ArrayBuffer; uuid: bigint };
  close(): void;
  /** peerPid > 0: a peer on this machine (shared-memory transports; its exit seen through a pidfd). */
  connect(address: Uint8Array, peerPid: number): number;
  disconnect(ep: number): void;
  epInfo(ep: number): string;
  contextInfo(): string;
  register(view: Uint8Array): number;
  alloc(length: number): [number, SharedArrayBuffer];
  rkey(region: number): ArrayBuffer;
  deregister(region: number): number;
  unpack(ep: number, key: Uint8Array, am: boolean): number;
  dropKey(rkey: number): void;
  /** The peer's region as a SharedArrayBuffer, where UCX maps it here (ucp_rkey_ptr); throws E_RDMA_MAP otherwise. */
  map(rkey: number): SharedArrayBuffer;
  get(rkey: number, offset: number, dest: Uint8Array, id: number): number;
  put(rkey: number, offset: number, src: Uint8Array, id: number): number;
  atomic(rkey: number, offset: number, op: number, width: number, io: Uint8Array, id: number): number;
  /** 'am' keys: the owner copies the seqlocked record (u32 version first) consistently. */
  seqRead(rkey: number, offset: number, dest: Uint8Array, id: number): number;
  amSend(ep: number, amId: number, header: Uint8Array, data: Uint8Array, id: number): number;
  amListen(amId: number): void;
  flush(ep: number, id: number): number;
  progress(): number;
  setSpin(ns: number): void;
  setTimeout(ms: number): void;
  ref(on: boolean): void;
  statusString(status: number): string;
  version(): string;
  /** Does nothing: the cost of a call into the addon. */
  nop(): void;
}

/** [kind, a, b, header, data]: kind 1 endpoint error (a ep, b status), 2 active message (a id), 3 region unmapped (a region, b peers that never acknowledged). */
export type RawEvent = [number, number, number, ArrayBuffer, ArrayBuffer];

/**
 * UCX settings roam needs inside Node, set before the library loads (a value the user set wins):
 * UCX's malloc/mmap hooks and SIGSEGV handler fight V8 (native-host/index.ts says how), and
 * keepalive at 1 s (UCX's default is 20 s) so a peer that died on a shared-memory transport, which
 * has no connection to reset, fails its requests within seconds.
 */
export const RDMA_ENV: Record<string, string> = { ...UCX_ENV, UCX_KEEPALIVE_INTERVAL: '1s' };

let addon: UcxAddon | null | undefined;
let loadError = '';

/** The addon, or null when it was not built (UCX's headers were missing at `npm install`). */
export function ucxAddon(): UcxAddon | null {
  if (addon !== undefined) return addon;
  for (const [k, v] of Object.entries(RDMA_ENV)) process.env[k] ??= v;
  try {
    addon = createRequire(import.meta.url)('../../native-host/build/Release/roam_ucx.node') as UcxAddon;
  } catch (e) {
    addon = null;
    loadError = (e as Error).message.split('\n')[0]!;
  }
  return addon;
}

/** Why ucxAddon() is null (empty when it loaded). */
export const ucxLoadError = (): string => loadError;
