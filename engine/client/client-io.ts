/** Messages and the shared channel between a client connection and its client-place worker. */
export const IoState = { IDLE: 0, REQUEST: 1, DONE: 2 } as const;
/**
 * ctl: [0] state [1] frame kind [2] region [3] length [4] status (0 ok, 1 error) [5] request number
 * (written by the worker) [6] the request number an answer is for (written by the main thread); data follows.
 */
export const IO_DATA = 64;
export const IO_CHANNEL_BYTES = IO_DATA + (1 << 20);

/** Where a client place's region operations go: UCX (engine/rdma) or frames on the wire connection. */
export interface RegionPath {
  path: 'ucx' | 'wire';
  /** Why (the fallback's cause, or the transports UCX uses). */
  reason: string;
}

/** A UCX worker's descriptor (hex address) and, from the server, a bundle's keys (engine/rdma/host.ts). */
export interface RdmaDeploy {
  address: string;
  pid: number;
  host: string;
  keys: string[];
}

export type ToClientWorker =
  | { type: 'init'; channel: SharedArrayBuffer; rdma?: boolean }
  | { type: 'deploy'; bundle: number; seq: number; bytes: Uint8Array; rdma?: RdmaDeploy }
  | { type: 'undeploy'; bundle: number }
  | { type: 'run'; id: number; bundle: number; handler: string; input: Uint8Array };

export type FromClientWorker =
  | { type: 'io'; seq: number }
  | { type: 'rdma'; descriptor?: { address: string; pid: number; host: string }; error?: string }
  | { type: 'deployed'; bundle: number; seq: number; error?: string; path?: RegionPath }
  | { type: 'done'; id: number; ok: true; reply: Uint8Array; ops: number; bytes: number; writes: number; ms: number }
  | { type: 'done'; id: number; ok: false; code: string; message: string; ops: number; bytes: number; writes: number; ms: number };
