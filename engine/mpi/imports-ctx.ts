import type { Comm, MpiCore, RecvTarget, Req, Status } from './core.ts';
import type { Combine } from './collectives.ts';
import type { Datatype } from './datatypes.ts';
import type { GuestMemory } from './guest-memory.ts';
import type { GuestHandle } from './imports.ts';
import type { Transport } from './transport.ts';

export type Fn = (...a: any[]) => number;

/** What the groups of imports (imports-*.ts) share of one rank's MPI state: checks, handle tables, guest memory. */
export interface Ctx {
  core: MpiCore;
  t: Transport;
  mem: GuestMemory;
  guest: () => GuestHandle;
  comm(h: number): Comm;
  group(h: number): number[];
  groups: Map<number, number[]>;
  dtype(h: number): Datatype;
  count(n: number): number;
  rankIn(c: Comm, r: number, what: string, allowAny?: boolean): number;
  tagOk(tag: number, allowAny?: boolean): number;
  newHandle(): number;
  reqs: Map<number, Req>;
  packedCopy(ptr: number, n: number, d: Datatype): Uint8Array;
  store(bytes: Uint8Array, ptr: number, n: number, d: Datatype): void;
  target(ptr: number, n: number, d: Datatype): RecvTarget;
  writeStatus(ptr: number, s: Status): void;
  combine(op: number, d: Datatype, typeHandle: number): Combine;
  predefinedOp(op: number): boolean;
  startSend(buf: number, n: number, th: number, dest: number, tag: number, ch: number, sync: boolean, blocking?: boolean): Req;
  startRecv(buf: number, n: number, th: number, src: number, tag: number, ch: number): Req;
  agreeCommId(c: Comm): number;
}
