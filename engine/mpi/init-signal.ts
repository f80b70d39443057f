/**
 * `roam mpirun --timeout` counts from the moment every rank has entered MPI_Init, so slow start-up
 * (Node, module compile, libmpi, guest work before MPI_Init) never counts. A rank says so once, on
 * entry: MPI_Init/MPI_Init_thread are wrapped rather than using the per-call hooks, which would
 * take the native MPI off its direct Send/Recv path.
 */

type Fn = (...a: any[]) => number;

/** The timeout line, for both launchers: what was counted, and from when. */
export const timeoutMessage = (ms: number) => `job timed out after ${ms} ms, counted from when every rank had entered MPI_Init (start-up excluded; deadlock?)`;

/** Wraps the MPI_Init imports to call `f` once, when the guest first enters either. */
export function callOnInit(imports: Record<string, Fn>, f: () => void): void {
  let called = false;
  for (const name of ['MPI_Init', 'MPI_Init_thread']) {
    const init = imports[name];
    if (!init) continue;
    imports[name] = (a: number, b: number, c: number, d: number) => {
      if (!called) {
        called = true;
        f();
      }
      return init(a, b, c, d);
    };
  }
}

/**
 * A native rank says it entered MPI_Init by writing this to its stderr, which every launcher
 * (hydra, Open MPI, srun) forwards from every host to `roam mpirun`, where `InitMarkers` removes it.
 * A file or socket would not reach the launcher from other hosts, and a rank's guest runs
 * synchronously (no event loop for a socket) until it ends.
 */
export const initMarker = (rank: number) => `\0roam-mpi-init:${rank}\0`;
/** What native-host's SIGUSR1 handler writes: the rank's call slot (call-state.ts), for --timeout's report. */
export const callMarker = (rank: number, slot: ArrayLike<number>) => `\0roam-mpi-call:${rank}:${Array.from(slot).join(',')}\0`;
const MARKER = /\0roam-mpi-(init|call):(\d{1,9})(?::(-?\d{1,11}(?:,-?\d{1,11}){0,15}))?\0/g;
/** A chunk's tail that may be the start of a marker cut by the chunk boundary (bounded: ~220 bytes). */
const PARTIAL = /^\0(r(o(a(m(-(m(p(i(-(i(n(it?)?)?|c(a(ll?)?)?)?)?)?)?)?)?)?)?)?)?$|^\0roam-mpi-(init|call):[-\d,:]{0,210}$/;

/**
 * Filters the markers out of the launcher's stderr stream: MPI_Init markers are reported once per
 * rank (`onRank`), call reports (`onCall`) every time.
 */
export class InitMarkers {
  private held = '';
  private readonly seen = new Set<number>();
  constructor(
    private readonly onRank: (rank: number, count: number) => void,
    private readonly onCall?: (rank: number, slot: number[]) => void,
  ) {}

  /** Returns the chunk without markers; a possible marker cut at the chunk's end waits for the next. */
  push(chunk: Buffer): Buffer {
    let s = this.held + chunk.toString('latin1');
    this.held = '';
    if (s.includes('\0')) {
      s = s.replace(MARKER, (_, kind: string, r: string, ints: string | undefined) => {
        const rank = Number(r);
        if (kind === 'call') this.onCall?.(rank, (ints ?? '').split(',').map(Number));
        else if (!this.seen.has(rank)) {
          this.seen.add(rank);
          this.onRank(rank, this.seen.size);
        }
        return '';
      });
      const z = s.lastIndexOf('\0');
      const tail = z < 0 ? '' : s.slice(z);
      if (tail && PARTIAL.test(tail)) {
        this.held = tail;
        s = s.slice(0, z);
      }
    }
    return Buffer.from(s, 'latin1');
  }

  /** What is still held when the stream ends (it was not a marker after all). */
  end(): Buffer {
    const rest = Buffer.from(this.held, 'latin1');
    this.held = '';
    return rest;
  }
}
