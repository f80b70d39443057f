// A client the owner never connected back to (so no REVOKE reaches it): a worker thread with its own
// UCX worker holding a key. On 'read' it reads once and posts the outcome's code.
import { parentPort, workerData } from 'node:worker_threads';
import { RdmaWorker } from '../../engine/rdma/worker.ts';

const d = workerData as { address: string; pid: number; host: string; key: string };
const w = RdmaWorker.open();
const ep = w.connect({ address: Buffer.from(d.address, 'hex'), pid: d.pid, host: d.host });
const r = ep.unpack(Buffer.from(d.key, 'hex'));
const outcome = () => r.read(0, 8).then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
void outcome().then((first) => parentPort!.postMessage({ ready: first, mode: r.mode }));
parentPort!.on('message', () => void outcome().then((code) => { parentPort!.postMessage({ code }); w.close(); }));
