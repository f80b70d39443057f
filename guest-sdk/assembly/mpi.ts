// roam MPI binding for AssemblyScript guests: the same `roam:mpi` imports and MPI-5 ABI
// handle values as guest-sdk/include/mpi.h, so an AS rank and a C rank behave alike.
// Buffers are raw pointers into linear memory (use `changetype<usize>(array.dataStart)`
// or `memory.data`/`heap.alloc`); nothing is copied across the boundary.

export const MPI_SUCCESS: i32 = 0;
export const MPI_COMM_WORLD: i32 = 0x101;
export const MPI_COMM_SELF: i32 = 0x102;
export const MPI_COMM_NULL: i32 = 0x100;
export const MPI_REQUEST_NULL: i32 = 0x180;
export const MPI_ANY_SOURCE: i32 = -1;
export const MPI_ANY_TAG: i32 = -2;
export const MPI_PROC_NULL: i32 = -3;
export const MPI_STATUS_IGNORE: usize = 0;
export const MPI_IN_PLACE: usize = 1;
export const MPI_STATUS_SIZE: i32 = 32;

export const MPI_BYTE: i32 = 0x247;
export const MPI_CHAR: i32 = 0x243;
export const MPI_INT: i32 = 0x209;
export const MPI_INT32_T: i32 = 0x250;
export const MPI_UINT32_T: i32 = 0x251;
export const MPI_INT64_T: i32 = 0x258;
export const MPI_UINT64_T: i32 = 0x259;
export const MPI_FLOAT: i32 = 0x210;
export const MPI_DOUBLE: i32 = 0x214;
export const MPI_DOUBLE_INT: i32 = 0x229;
export const MPI_2INT: i32 = 0x22b;

export const MPI_SUM: i32 = 0x21;
export const MPI_MIN: i32 = 0x22;
export const MPI_MAX: i32 = 0x23;
export const MPI_PROD: i32 = 0x24;
export const MPI_BAND: i32 = 0x28;
export const MPI_BOR: i32 = 0x29;
export const MPI_BXOR: i32 = 0x2a;
export const MPI_LAND: i32 = 0x30;
export const MPI_LOR: i32 = 0x31;
export const MPI_MINLOC: i32 = 0x38;
export const MPI_MAXLOC: i32 = 0x39;

@external("roam:mpi", "MPI_Init") export declare function MPI_Init(argc: usize, argv: usize): i32;
@external("roam:mpi", "MPI_Finalize") export declare function MPI_Finalize(): i32;
@external("roam:mpi", "MPI_Abort") export declare function MPI_Abort(comm: i32, code: i32): i32;
@external("roam:mpi", "MPI_Comm_rank") export declare function MPI_Comm_rank(comm: i32, rank: usize): i32;
@external("roam:mpi", "MPI_Comm_size") export declare function MPI_Comm_size(comm: i32, size: usize): i32;
@external("roam:mpi", "MPI_Comm_split") export declare function MPI_Comm_split(comm: i32, color: i32, key: i32, out: usize): i32;
@external("roam:mpi", "MPI_Comm_dup") export declare function MPI_Comm_dup(comm: i32, out: usize): i32;
@external("roam:mpi", "MPI_Comm_free") export declare function MPI_Comm_free(comm: usize): i32;
@external("roam:mpi", "MPI_Send") export declare function MPI_Send(buf: usize, count: i32, type: i32, dest: i32, tag: i32, comm: i32): i32;
@external("roam:mpi", "MPI_Recv") export declare function MPI_Recv(buf: usize, count: i32, type: i32, src: i32, tag: i32, comm: i32, status: usize): i32;
@external("roam:mpi", "MPI_Isend") export declare function MPI_Isend(buf: usize, count: i32, type: i32, dest: i32, tag: i32, comm: i32, req: usize): i32;
@external("roam:mpi", "MPI_Irecv") export declare function MPI_Irecv(buf: usize, count: i32, type: i32, src: i32, tag: i32, comm: i32, req: usize): i32;
@external("roam:mpi", "MPI_Wait") export declare function MPI_Wait(req: usize, status: usize): i32;
@external("roam:mpi", "MPI_Waitall") export declare function MPI_Waitall(n: i32, reqs: usize, statuses: usize): i32;
@external("roam:mpi", "MPI_Barrier") export declare function MPI_Barrier(comm: i32): i32;
@external("roam:mpi", "MPI_Bcast") export declare function MPI_Bcast(buf: usize, count: i32, type: i32, root: i32, comm: i32): i32;
@external("roam:mpi", "MPI_Reduce") export declare function MPI_Reduce(send: usize, recv: usize, count: i32, type: i32, op: i32, root: i32, comm: i32): i32;
@external("roam:mpi", "MPI_Allreduce") export declare function MPI_Allreduce(send: usize, recv: usize, count: i32, type: i32, op: i32, comm: i32): i32;
@external("roam:mpi", "MPI_Allgather") export declare function MPI_Allgather(send: usize, scount: i32, stype: i32, recv: usize, rcount: i32, rtype: i32, comm: i32): i32;
@external("roam:mpi", "MPI_Wtime") export declare function MPI_Wtime(): f64;

@external("wasi_snapshot_preview1", "fd_write") declare function fd_write(fd: i32, iovs: usize, n: i32, written: usize): i32;
@external("wasi_snapshot_preview1", "proc_exit") declare function proc_exit(code: i32): void;

const scratch = memory.data(16);

/** The calling rank in `comm`. */
export function rank(comm: i32 = MPI_COMM_WORLD): i32 {
  MPI_Comm_rank(comm, scratch);
  return load<i32>(scratch);
}
/** The number of ranks in `comm`. */
export function size(comm: i32 = MPI_COMM_WORLD): i32 {
  MPI_Comm_size(comm, scratch);
  return load<i32>(scratch);
}
/** Writes a line to stdout through WASI (no JS glue needed). */
export function print(s: string): void {
  const bytes = String.UTF8.encode(s + "\n");
  store<usize>(scratch, changetype<usize>(bytes));
  store<usize>(scratch + sizeof<usize>(), <usize>bytes.byteLength);
  fd_write(1, scratch, 1, scratch + 8);
}
/** Ends this rank with `code` (non-zero fails the job). */
export function exit(code: i32): void {
  proc_exit(code);
}
/** For `--use abort=`: an AS abort becomes a non-zero exit with the message on stderr. */
export function abort(message: string | null, file: string | null, line: u32, column: u32): void {
  print("abort: " + (message !== null ? changetype<string>(message) : "") + " at " + (file !== null ? changetype<string>(file) : "") + ":" + line.toString());
  proc_exit(134);
}
