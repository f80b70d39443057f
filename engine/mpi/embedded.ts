import { Worker } from 'node:worker_threads';
import { createSabLayout } from './sab-transport.ts';
import { shareMemory } from './shared-memory.ts';
import { CALL_SLOT_INTS, describeCall } from './call-state.ts';
import { timeoutMessage } from './init-signal.ts';

export interface JobOptions {
  np: number;
  /** argv after the program name. */
  args: string[];
  /** Program name passed as argv[0]. */
  argv0: string;
  env?: Record<string, string>;
  preopenCwd?: boolean;
  /** Kill the job this many ms after every rank has entered MPI_Init (deadlocks); 0 = never. */
  timeoutMs?: number;
  /** The module's bytes: when given, ranks share their memories (shared-memory.ts) and one-sided windows work. */
  wasm?: Uint8Array;
  /** Prefix each line a rank writes with `[RANK] `. */
  tagOutput?: boolean;
  /** Start-up progress: called with how many ranks have entered MPI_Init (or ended), from 0 to np. */
  onStartup?: (ready: number, np: number) => void;
}

export interface JobResult {
  /** Job exit code: the first failing rank's (1 for a trap or MPI error), else 0. */
  code: number;
  /** One line describing the first failure, naming the rank and the call. */
  error?: string;
  /** Exit code per rank (null when torn down before finishing). */
  ranks: Array<number | null>;
}

/**
 * Embedded MPI: each rank is a worker thread running its own instance of the module, all
 * wired through one SharedArrayBuffer. The first rank to fail (non-zero exit, trap, MPI error,
 * MPI_Abort) decides the job's code and every other rank is terminated.
 */
export async function runEmbedded(module: WebAssembly.Module, o: JobOptions): Promise<JobResult> {
  const layout = createSabLayout(o.np);
  const shared = o.wasm ? shareMemory(o.wasm) : null;
  if (shared) {
    module = await WebAssembly.compile(shared.bytes as Uint8Array<ArrayBuffer>);
    layout.memories = Array.from({ length: o.np }, () => new WebAssembly.Memory({ initial: shared.initial, maximum: shared.maximum, shared: true }));
  }
  // One call slot per rank (call-state.ts), written by the rank on entry to each MPI call.
  const calls = new Int32Array(new SharedArrayBuffer(4 * CALL_SLOT_INTS * o.np));
  const ranks: Array<number | null> = Array(o.np).fill(null);
  const workers: Worker[] = [];
  return await new Promise<JobResult>((resolve) => {
    let settled = false;
    let left = o.np;
    const end = (r: JobResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void Promise.all(workers.map((w) => w.terminate())).then(() => resolve(r));
    };
    const fail = (rank: number, code: number, error: string) => {
      ranks[rank] = code;
      end({ code, error: error.startsWith('rank ') ? error : `rank ${rank}: ${error}`, ranks });
    };
    // The clock starts when every rank has entered MPI_Init (or ended without it): start-up never counts.
    let timer: NodeJS.Timeout | undefined;
    const started: boolean[] = Array(o.np).fill(false);
    let toStart = o.np;
    const startedRank = (rank: number) => {
      if (started[rank]) return;
      started[rank] = true;
      --toStart;
      if (!settled) o.onStartup?.(o.np - toStart, o.np);
      if (toStart > 0 || !o.timeoutMs || settled) return;
      timer = setTimeout(() => {
        const where = ranks.map((c, r) => (c === null ? `rank ${r} in ${describeCall(calls.slice(r * CALL_SLOT_INTS, (r + 1) * CALL_SLOT_INTS))}` : null)).filter(Boolean);
        end({ code: 124, error: `${timeoutMessage(o.timeoutMs!)}: ${where.join(', ')}`, ranks });
      }, o.timeoutMs);
    };
    o.onStartup?.(0, o.np);
    for (let rank = 0; rank < o.np; rank++) {
      const w = new Worker(new URL('./rank-worker.mjs', import.meta.url), {
        workerData: { module, rank, layout, calls, args: [o.argv0, ...o.args], env: o.env ?? {}, preopenCwd: !!o.preopenCwd, tagOutput: !!o.tagOutput },
        stdout: false,
        stderr: false,
      });
      workers.push(w);
      w.on('message', (m: { type: string; code?: number; message?: string }) => {
        if (m.type === 'init') return startedRank(rank);
        if (m.type === 'exit') {
          startedRank(rank);
          ranks[rank] = m.code!;
          if (m.code !== 0) return fail(rank, m.code!, `exited with code ${m.code}`);
          if (--left === 0) end({ code: 0, ranks });
        } else if (m.type === 'abort') fail(rank, m.code || 1, `MPI_Abort called with error code ${m.code}`);
        else fail(rank, 1, m.message ?? 'failed');
      });
      w.on('error', (e) => fail(rank, 1, `worker error: ${e.message}`));
      w.on('exit', (c) => {
        if (!settled && ranks[rank] === null) fail(rank, c || 1, `worker exited unexpectedly (${c})`);
      });
    }
  });
}
