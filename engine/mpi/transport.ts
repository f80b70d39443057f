/**
 * What the MPI core needs from a wire: ordered, whole messages between world ranks,
 * tagged with a context id (communicator), a tag and flags. Matching, communicators,
 * datatypes and collectives live above this, shared by the embedded and native paths.
 */
export interface Arrival {
  src: number;
  ctx: number;
  tag: number;
  flags: number;
  len: number;
}

/** A send's bytes: a view, or a getter re-read on every push (guest memory can be replaced by memory.grow). */
export type Source = Uint8Array | (() => Uint8Array);

export interface SendToken {
  done: boolean;
}

/**
 * Collectives a wire can run itself on MPI_COMM_WORLD (the system libmpi's tuned ones), on views
 * of guest memory; each returns false when it cannot (then roam's own algorithm runs).
 */
export interface WorldCollectives {
  allreduce(send: Uint8Array | null, recv: Uint8Array, count: number, type: number, op: number): boolean;
  bcast(bytes: Uint8Array, root: number): boolean;
  barrier(): boolean;
  /**
   * The same on offsets into the guest memory bound for direct p2p, arguments in direct.io[9..14] =
   * [send offset (-1 in place), recv offset (-1 none), count, type, op, root]; 1 done, 0 not mapped.
   */
  allreduceW(): number;
  reduceW(): number;
  /** io[10] = offset, io[11] = bytes, io[14] = root. */
  bcastW(): number;
  /** io[9] = send offset (-1 in place), io[10] = recv offset, io[11] = bytes per peer. */
  alltoallW(): number;
}

/**
 * Blocking point-to-point straight between guest memory and the wire, for MPI_Send/MPI_Recv on
 * contiguous buffers (native): arguments and results in `io`, no JS objects or argument
 * conversions per call. Offsets address the memory last given to `memory()`.
 */
export interface DirectP2p {
  /** Argument and result slots (see send and recv). */
  readonly io: Int32Array;
  /** Binds the guest's memory; called again whenever memory.buffer changes (memory.grow). */
  memory(buf: ArrayBuffer): void;
  /** io = [off, len, dest, ctx, tag]: sends; 0 when complete, else an id to poll with sendDone. */
  send(): number;
  sendDone(id: number): boolean;
  /**
   * io = [off, cap, src (-1 any), ctx, tag (-1 any)] -> io[5..7] = [src, wire tag, bytes]; returns 1
   * received, 0 another message arrived (poll() has it), -1 too long (held, length in io[7]),
   * -2 truncated and consumed (length unknown).
   */
  recv(): number;
  /** io = [off, len, dest, ctx, tag, sync]: starts a send; returns a request id for test. */
  isend(): number;
  /** io = [off, cap, src (-1 any), ctx, tag]: posts a receive on the exact wire tag; returns a request id. */
  irecv(): number;
  /** io[8] = id: 0 pending, 1 done (io[5..7] = [src, wire tag, bytes]), -2 truncated, 2 cancelled. */
  test(): number;
  /** io[8] = id: asks the MPI to cancel it (test reports 2 if it was). */
  cancel(): void;
}

export interface Transport {
  /** Present on wires with their own collectives (native). */
  readonly world?: WorldCollectives;
  /** Present on wires that can move a guest's blocking send/recv without the core's queues (native). */
  readonly direct?: DirectP2p;
  readonly rank: number;
  readonly size: number;
  /** Largest tag value the wire can carry. */
  readonly tagUb: number;
  /** Sends with the SYNC flag complete only once matched (the wire's own synchronous send): no ack messages. */
  readonly syncSends?: boolean;
  /** Starts sending; bytes must stay valid until token.done. */
  send(dest: number, ctx: number, tag: number, flags: number, data: Source, len: number): SendToken;
  /** Moves bytes on the wire; returns whether anything moved. */
  progress(): boolean;
  /** Next complete (embedded) or announced (native) message, oldest first; null when none. */
  poll(): Arrival | null;
  /** Receives the payload of the arrival returned by the last poll into `into` (at least a.len bytes) or a fresh buffer. */
  take(a: Arrival, into: Uint8Array | null): Uint8Array;
  /** Blocks a little until something may have changed (a doorbell, or nothing on a spinning wire). */
  idle(seq: number): void;
  /** A counter that changes when new traffic may be waiting; read before progress(), pass to idle(). */
  seq(): number;
  wtime(): number;
  abort(code: number): never;
  finalize(): void;
  processorName(): string;
}
