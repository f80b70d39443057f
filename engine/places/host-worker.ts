// A long-lived host-core worker: runs the slots the server rings for, replies with the slot indexes.
import { parentPort } from 'node:worker_threads';
import { Mailbox, type MailboxShape } from './mailbox.ts';
import { SlotRunner, type BundleInfo } from './slot-runner.ts';
import { BackgroundLoad } from './background-load.ts';

export type ToWorker =
  | { type: 'init'; buffer: SharedArrayBuffer; shape: MailboxShape }
  | { type: 'deploy'; info: BundleInfo }
  | { type: 'run'; slots: number[] }
  | { type: 'load'; fraction: number }
  | { type: 'crash' };
export type FromWorker = { type: 'done'; slots: number[]; busyNs: number };

const port = parentPort!;
const runner = new SlotRunner();
const load = new BackgroundLoad();
let mb: Mailbox | undefined;

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'init':
      mb = new Mailbox(m.buffer, m.shape);
      break;
    case 'deploy':
      runner.deploy(m.info);
      break;
    case 'run': {
      for (const s of m.slots) runner.run(mb!, s);
      const msg: FromWorker = { type: 'done', slots: m.slots, busyNs: runner.busyNs };
      port.postMessage(msg);
      break;
    }
    case 'load':
      load.set(m.fraction);
      break;
    case 'crash':
      // Test hook for the fault suite: a real uncaught failure of the worker thread.
      setImmediate(() => {
        throw new Error('worker crash requested');
      });
      break;
  }
});
