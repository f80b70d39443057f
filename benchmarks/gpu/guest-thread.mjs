// One guest thread of the end-to-end gpu benchmark: an Engine (default capabilities) running an mlp
// bundle whose roam:gpu reaches the process's gpu service over the process channel (no port), calling
// `infer` until told to stop; reports calls and latencies.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
/** This module runs only as a worker thread, where parentPort is set. */
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
register();
const { Engine } = await import('../../engine/index.ts');
const { bundle, input, stop } = workerData;
const flag = new Int32Array(stop);
const d = new Engine().deploy(bundle);
d.invoke('infer', input); // warm: weights uploaded, JIT
port.postMessage({ ready: true });
const lat = [];
let counting = false;
while (Atomics.load(flag, 0) !== 2) {
  if (!counting && Atomics.load(flag, 0) === 1) counting = true;
  const t0 = performance.now();
  d.invoke('infer', input);
  if (counting && Atomics.load(flag, 0) === 1) lat.push(performance.now() - t0);
}
port.postMessage({ lat });
