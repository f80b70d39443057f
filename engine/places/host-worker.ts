// A long-lived host-core worker. Messages arrive as slot indexes on a shared ring; the worker takes
// whole batches, runs them, and appends the finished slots to a completion ring. A doorbell message
// crosses threads only when the other side has gone idle (see ring.ts).
import { parentPort } from 'node:worker_threads';
import { Mailbox, type MailboxShape } from './mailbox.ts';
import { SlotRunner, type BundleInfo } from './slot-runner.ts';
import { BackgroundLoad } from './background-load.ts';
import { laneRings, type LaneLayout } from './ring.ts';

export type ToWorker =
  | { type: 'init'; buffer: SharedArrayBuffer; shape: MailboxShape; lane: LaneLayout }
  | { type: 'deploy'; info: BundleInfo }
  | { type: 'ring' }
  | { type: 'load'; fraction: number }
  | { type: 'crash' };
/** The completion doorbell (the slots themselves are on the completion ring). */
export type FromWorker = 0;

const port = parentPort!;
const runner = new SlotRunner();
const load = new BackgroundLoad();
let mb: Mailbox | undefined;
let rings: ReturnType<typeof laneRings> | undefined;
const batch: number[] = [];
let draining = false;

// One batch per event-loop turn, so deploy/load/crash messages are never starved by a busy ring.
function pass(): void {
  const r = rings!;
  r.sub.drain(batch);
  for (let i = 0; i < batch.length; i++) {
    runner.run(mb!, batch[i]!);
    r.done.push(batch[i]!);
    // Stream completions back every 32 messages so the server can refill while this batch still runs.
    if ((i & 31) === 31 && r.done.wake()) port.postMessage(0 satisfies FromWorker);
  }
  r.busy[0] = runner.busyNs;
  if (batch.length > 0 && r.done.wake()) port.postMessage(0 satisfies FromWorker);
  if (r.sub.sleep()) setImmediate(pass);
  else draining = false;
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'init':
      mb = new Mailbox(m.buffer, m.shape);
      rings = laneRings(m.lane);
      break;
    case 'deploy':
      runner.deploy(m.info);
      break;
    case 'ring':
      if (!draining) {
        draining = true;
        pass();
      }
      break;
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
