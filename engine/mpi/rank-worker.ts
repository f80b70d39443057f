import { parentPort, workerData } from 'node:worker_threads';
import { SabTransport, type SabLayout } from './sab-transport.ts';
import { runRank } from './rank.ts';
import { CALL_SLOT_INTS } from './call-state.ts';

/** One embedded rank: runs the guest on the SharedArrayBuffer wire, reports its exit or failure. */
interface Data {
  module: WebAssembly.Module;
  rank: number;
  layout: SabLayout;
  /** Every rank's call slot (call-state.ts), CALL_SLOT_INTS each, in one SharedArrayBuffer. */
  calls: Int32Array;
  args: string[];
  env: Record<string, string>;
  preopenCwd: boolean;
  tagOutput: boolean;
}
const d = workerData as Data;
try {
  const t = new SabTransport(d.layout, d.rank);
  const code = runRank(d.module, t, {
    args: d.args,
    env: d.env,
    preopenCwd: d.preopenCwd,
    memory: d.layout.memories?.[d.rank],
    onInit: () => parentPort!.postMessage({ type: 'init' }),
    tagOutput: d.tagOutput ? `[${d.rank}] ` : undefined,
    hooks: { slot: d.calls.subarray(d.rank * CALL_SLOT_INTS, (d.rank + 1) * CALL_SLOT_INTS) },
  });
  parentPort!.postMessage({ type: 'exit', code });
} catch (e: any) {
  if (typeof e?.mpiAbort === 'number') parentPort!.postMessage({ type: 'abort', code: e.mpiAbort });
  else parentPort!.postMessage({ type: 'error', message: e instanceof Error ? `${e.name === 'RuntimeError' ? 'trap: ' : ''}${e.message}` : String(e) });
}
