import { ANY_SOURCE, ANY_TAG, COMM_SELF, COMM_WORLD, PROC_NULL } from './abi.ts';
import { CALL_NAMES } from './call-names.ts';

/**
 * The MPI call a rank is in, for `--timeout`'s deadlock report: a slot of CALL_SLOT_INTS int32s,
 * [CALL_NAMES index + 1 (0: in guest code), the call's first 12 arguments], written on entry to
 * every MPI import (plain stores, nothing allocated) and read by someone else while the rank is
 * stuck: the embedded launcher reads a SharedArrayBuffer; a native rank's JS thread is blocked
 * inside libmpi, so the addon's SIGUSR1 handler writes the slot to stderr as a marker (callMarker)
 * for `roam mpirun`, which formats it here, as the embedded launcher does.
 */
export const CALL_SLOT_INTS = 13;
const INDEX = new Map(CALL_NAMES.map((n, i) => [n, i + 1]));

/** The slot value naming `call` (0 when the call has no index: reported as guest code). */
export const callIndex = (call: string): number => INDEX.get(call) ?? 0;

type Arg = 'dest' | 'source' | 'tag' | 'sendtag' | 'recvtag' | 'root' | 'comm' | 'count';
/** Which arguments (by position) say what a blocked call waits for. */
const LAYOUT: Record<string, Array<[number, Arg]>> = {};
const def = (names: string[], args: Array<[number, Arg]>) => {
  for (const n of names) LAYOUT[n] = args;
};
def(['MPI_Send', 'MPI_Ssend', 'MPI_Bsend', 'MPI_Rsend'], [[3, 'dest'], [4, 'tag'], [5, 'comm']]);
def(['MPI_Recv'], [[3, 'source'], [4, 'tag'], [5, 'comm']]);
def(['MPI_Probe', 'MPI_Mprobe'], [[0, 'source'], [1, 'tag'], [2, 'comm']]);
def(['MPI_Sendrecv'], [[3, 'dest'], [4, 'sendtag'], [8, 'source'], [9, 'recvtag'], [10, 'comm']]);
def(['MPI_Sendrecv_replace'], [[3, 'dest'], [4, 'sendtag'], [5, 'source'], [6, 'recvtag'], [7, 'comm']]);
def(['MPI_Waitall', 'MPI_Waitany', 'MPI_Waitsome'], [[0, 'count']]);
def(['MPI_Barrier'], [[0, 'comm']]);
def(['MPI_Bcast'], [[3, 'root'], [4, 'comm']]);
def(['MPI_Reduce'], [[5, 'root'], [6, 'comm']]);
def(['MPI_Allreduce', 'MPI_Reduce_scatter', 'MPI_Reduce_scatter_block', 'MPI_Scan', 'MPI_Exscan'], [[5, 'comm']]);
def(['MPI_Gather', 'MPI_Scatter'], [[6, 'root'], [7, 'comm']]);
def(['MPI_Gatherv', 'MPI_Scatterv'], [[7, 'root'], [8, 'comm']]);
def(['MPI_Allgather', 'MPI_Alltoall'], [[6, 'comm']]);
def(['MPI_Allgatherv', 'MPI_Alltoallv'], [[7, 'comm']]);
def(['MPI_Alltoallw'], [[8, 'comm']]);

function value(kind: Arg, v: number): string {
  if (kind === 'comm') return v === COMM_WORLD ? 'MPI_COMM_WORLD' : v === COMM_SELF ? 'MPI_COMM_SELF' : `comm 0x${(v >>> 0).toString(16)}`;
  if (kind === 'count') return `${v} requests`;
  if ((kind === 'source' || kind === 'dest') && v === PROC_NULL) return `${kind} MPI_PROC_NULL`;
  if (kind === 'source' && v === ANY_SOURCE) return 'source MPI_ANY_SOURCE';
  if (kind.endsWith('tag') && v === ANY_TAG) return `${kind} MPI_ANY_TAG`;
  return `${kind} ${v}`;
}

/** "MPI_Recv(source 0, tag 5, MPI_COMM_WORLD)", "MPI_Barrier(MPI_COMM_WORLD)", or "guest code". */
export function describeCall(slot: ArrayLike<number>): string {
  const name = slot[0] ? CALL_NAMES[slot[0] - 1] : undefined;
  if (!name) return 'guest code';
  const args = LAYOUT[name];
  return args ? `${name}(${args.map(([i, k]) => value(k, slot[1 + i] ?? 0)).join(', ')})` : name;
}

/** An argument as an int32 (an i64 argument arrives as a BigInt, which an Int32Array refuses). */
const n = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Records `call` with its arguments in `slot` (fixed arity: nothing allocated per call); returns what was there. */
export function enterCall(slot: Int32Array, idx: number, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown, g: unknown, h: unknown, i: unknown, j: unknown, k: unknown, l: unknown): number {
  const prev = slot[0]!;
  slot[0] = idx;
  slot[1] = n(a);
  slot[2] = n(b);
  slot[3] = n(c);
  slot[4] = n(d);
  slot[5] = n(e);
  slot[6] = n(f);
  slot[7] = n(g);
  slot[8] = n(h);
  slot[9] = n(i);
  slot[10] = n(j);
  slot[11] = n(k);
  slot[12] = n(l);
  return prev;
}
