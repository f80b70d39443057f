// Worker/agent entry: registers tsx so TypeScript sources load, then imports the module named in argv/workerData.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';
register();
await import(workerData?.__roamEntry ?? process.argv[2]);
