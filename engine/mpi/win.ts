import type { Comm } from './core.ts';
import type { Datatype } from './datatypes.ts';

/** A guest buffer: address, element count and datatype (with its handle, for the system MPI). */
export interface Buf {
  ptr: number;
  n: number;
  d: Datatype;
  h: number;
}

/** Where an operation lands: communicator rank, displacement in disp units, count and datatype there. */
export interface At {
  rank: number;
  disp: number;
  n: number;
  d: Datatype;
  h: number;
}

/** One window as a wire implements it; imports-rma.ts has already checked handles, epochs and bounds. */
export interface WinImpl {
  fence(assert: number): void;
  lock(type: number, rank: number, assert: number): void;
  unlock(rank: number): void;
  lockAll(assert: number): void;
  unlockAll(): void;
  flush(rank: number): void;
  flushAll(): void;
  flushLocal(rank: number): void;
  flushLocalAll(): void;
  sync(): void;
  post(ranks: number[], assert: number): void;
  start(ranks: number[], assert: number): void;
  complete(): void;
  wait(): void;
  test(): boolean;
  put(o: Buf, t: At): void;
  get(o: Buf, t: At): void;
  accumulate(o: Buf, t: At, op: number): void;
  getAccumulate(o: Buf, r: Buf, t: At, op: number): void;
  fetchAndOp(o: number, r: number, d: Datatype, h: number, t: At, op: number): void;
  compareAndSwap(o: number, c: number, r: number, d: Datatype, h: number, t: At): void;
  free(): void;
}

/** Each member's window: its address (in its own memory), size in bytes and displacement unit. */
export interface Member {
  base: number;
  size: number;
  unit: number;
}

/** Creates windows on one wire (collective over `c`). */
export interface WinWire {
  create(c: Comm, members: Member[]): WinImpl;
}
