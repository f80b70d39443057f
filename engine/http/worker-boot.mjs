// Worker entry: plain ESM so a fresh worker thread can register tsx before loading the TypeScript worker
// (loader hooks registered in the parent do not reach worker threads in Node 20).
import { register } from 'tsx/esm/api';
register();
const mod = await import('./worker.ts');
export default mod.default;
