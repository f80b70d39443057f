// Raw batched limit for host dispatch: the host pool's own submission/completion rings and doorbells
// (engine/places/ring.ts) with nothing else — no slot table, no steering, no bookkeeping. With `wasm`
// set, each index also runs one kv get through a plain Engine deployment (the raw execution limit).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
/** This module runs only as a worker thread, where parentPort is set. */
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
register();
const { laneRings } = await import('../engine/places/ring.ts');
const { Engine } = await import('../engine/runtime/engine.ts');

const { lane, wasm, keys } = workerData;
const r = laneRings(lane);
let run = (_i) => {};
if (wasm) {
  const dep = new Engine().deploy(wasm);
  const key = (k) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(k));
    return b;
  };
  const ks = Array.from({ length: keys }, (_, i) => key(i + 1));
  for (const k of ks) dep.call('put', Buffer.concat([k, Buffer.from('v')]));
  const get = dep.entry('get');
  run = (i) => dep.callEntry(get, ks[i % keys]);
}
const batch = [];
function pass() {
  r.sub.drain(batch);
  for (let i = 0; i < batch.length; i++) {
    run(batch[i]);
    r.done.push(batch[i]);
    if ((i & 31) === 31) r.done.wake();
  }
  if (batch.length > 0) r.done.wake();
  if (r.sub.sleep()) setImmediate(pass);
  else r.sub.whenRung(pass);
}
r.sub.whenRung(pass);
port.on('message', () => {}); // keeps the worker alive while it waits
port.postMessage('ready');
