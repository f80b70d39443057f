import { parentPort, workerData } from 'node:worker_threads';
import { SabTransport, type SabLayout } from './sab-transport.ts';
import { runRank } from './rank.ts';
import { CALL_NAMES } from './call-names.ts';

/** One embedded rank: runs the guest on the SharedArrayBuffer wire, reports its exit or failure. */
interface Data {
  module: WebAssembly.Module;
  rank: number;
  layout: SabLayout;
  calls: Int32Array;
  args: string[];
  env: Record<string, string>;
  preopenCwd: boolean;
  tagOutput: boolean;
}
const d = workerData as Data;
const callIndex = new Map(CALL_NAMES.map((n, i) => [n, i + 1]));
try {
  const t = new SabTransport(d.layout, d.rank);
  const code = runRank(d.module, t, {
    args: d.args,
    env: d.env,
    preopenCwd: d.preopenCwd,
    memory: d.layout.memories?.[d.rank],
    onInit: () => parentPort!.postMessage({ type: 'init' }),
    tagOutput: d.tagOutput ? `[${d.rank}] ` : undefined,
    hooks: { enter: (n) => Atomics.store(d.calls, d.rank, callIndex.get(n) ?? 0), leave: () => Atomics.store(d.calls, d.rank, 0) },
  });
  parentPort!.postMessage({ type: 'exit', code });
} catch (e: any) {
  if (typeof e?.mpiAbort === 'number') parentPort!.postMessage({ type: 'abort', code: e.mpiAbort });
  else parentPort!.postMessage({ type: 'error', message: e instanceof Error ? `${e.name === 'RuntimeError' ? 'trap: ' : ''}${e.message}` : String(e) });
}
