// A guest thread for gpu-threads.test.ts: its own Engine, whose roam:gpu shares the main thread's device.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
register();
const { Engine } = await import('../engine/index.ts');
const { gpuCapabilityOverPort } = await import('../engine/capabilities/gpu.ts');
const { port, bundle, input, calls } = workerData;
const d = new Engine({ capabilities: [gpuCapabilityOverPort(port)] }).deploy(bundle);
const replies = [];
for (let i = 0; i < calls; i++) replies.push(d.invoke('infer', input));
parentPort.postMessage({ first: replies[0], same: replies.every((r) => Buffer.compare(r, replies[0]) === 0) });
