// A worker thread with its own UCX worker (one per thread): runs kv gets at the client place and posts
// the values back, as the client place's guest thread would.
import { parentPort, workerData } from 'node:worker_threads';
import { RdmaWorker } from '../../engine/rdma/worker.ts';
import { kvKey, kvOver } from './rdma-kv.ts';

const d = workerData as { address: string; pid: number; host: string; key: string; bundle: Uint8Array; keys: number[] };
const w = RdmaWorker.open();
const ep = w.connect({ address: Buffer.from(d.address, 'hex'), pid: d.pid, host: d.host });
const r = ep.unpack(Buffer.from(d.key, 'hex'));
const kv = kvOver(r, d.bundle);
const values = d.keys.map((k) => new TextDecoder().decode(kv.call('get', kvKey(k)).reply));
parentPort!.postMessage({ mode: r.mode, values });
w.close();
