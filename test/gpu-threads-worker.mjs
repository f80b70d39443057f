// A guest thread for gpu-threads.test.ts. It is handed no port: roam:gpu and the raw client find the
// process's one gpu service over the process channel (the main thread starts it when asked).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
register();
const { Engine } = await import('../engine/index.ts');
const { sharedGpuClient } = await import('../engine/gpu/bridge/process-channel.ts');
const { Kernel } = await import('../engine/gpu/kernels/table.ts');
const w = workerData;

if (w.mode === 'mlp') {
  // An Engine with the default capabilities, as the gateway's workers have.
  const d = new Engine().deploy(w.bundle);
  const replies = [];
  for (let i = 0; i < w.calls; i++) replies.push(d.invoke('infer', w.input));
  parentPort.postMessage({ first: replies[0], same: replies.every((r) => Buffer.compare(r, replies[0]) === 0) });
} else if (w.mode === 'alloc') {
  // Allocates and keeps the buffer (never frees it) until the main thread ends this thread.
  const c = sharedGpuClient();
  c.call('register', w.fn, { share: 0.5, memoryMiB: 1 });
  try {
    parentPort.postMessage({ id: c.call('create', w.fn, w.bytes) });
  } catch (e) {
    parentPort.postMessage({ code: e.code, message: e.message });
  }
  setInterval(() => {}, 1000); // stay alive
} else if (w.mode === 'saturate') {
  // Dispatches a large matmul back to back until the main thread raises the stop flag.
  const c = sharedGpuClient();
  const stop = new Int32Array(w.stop);
  const n = w.n;
  c.call('register', w.fn, { share: w.share, memoryMiB: 16 });
  const bufs = [0, 1, 2].map(() => c.call('create', w.fn, n * n * 4));
  let done = 0;
  while (Atomics.load(stop, 0) === 0) {
    c.call('dispatch', w.fn, Kernel.matmul, bufs, [n, n, n]);
    done++;
  }
  for (const b of bufs) c.call('destroy', w.fn, b);
  parentPort.postMessage({ done });
}
