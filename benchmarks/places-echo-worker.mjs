// Raw limit for cross-thread dispatch: a worker that echoes batches of slot indexes (no Wasm, no slots).
import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => parentPort.postMessage(m));
