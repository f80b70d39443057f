// A long-lived host-core worker. Messages arrive as slot indexes on a shared ring; the worker takes
// whole batches, runs them, and appends the finished slots to a completion ring. A side is woken only
// when it has gone idle (see ring.ts); control messages (deploy, load, crash) come by postMessage.
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { Mailbox, type MailboxShape } from './mailbox.ts';
import { SlotRunner, type BundleInfo } from './slot-runner.ts';
import { BackgroundLoad, type LoadMode } from './background-load.ts';
import { laneRings, type LaneLayout } from './ring.ts';
import { TaskHost, type TaskToWorker } from './worker-tasks.ts';

export type ToWorker =
  | { type: 'init'; buffer: SharedArrayBuffer; shape: MailboxShape; lane: LaneLayout }
  | { type: 'deploy'; info: BundleInfo }
  | { type: 'undeploy'; info: BundleInfo }
  | { type: 'load'; fraction: number; mode: LoadMode }
  | { type: 'crash' }
  | TaskToWorker;

const port = parentPort!;
const runner = new SlotRunner();
const load = new BackgroundLoad();
let mb: Mailbox | undefined;
let rings: ReturnType<typeof laneRings> | undefined;
const batch: number[] = [];
let deploys = 0;
let memSeen = -1;
/** Publishes what this worker holds (SlotRunner.memory) in the lane's control buffer when it changed. */
function publishMemory(): void {
  if (!rings || runner.changes === memSeen) return;
  memSeen = runner.changes;
  const m = runner.memory();
  Atomics.store(rings.mem, 0, m.loaded);
  Atomics.store(rings.mem, 1, m.modules);
}
// Function and chain runs (engine/http), beside the ring's handler messages: one pool of host workers.
const tasks = new TaskHost((m, transfer) => port.postMessage(m, transfer ?? []));

// One batch per event-loop turn, so deploy/load/crash messages are never starved by a busy ring.
function pass(): void {
  const r = rings!;
  // A deploy still in flight: let the event loop deliver it first (this side keeps the ring's flag).
  if (deploys < Atomics.load(r.deploys, 0)) return void setImmediate(pass);
  r.sub.drain(batch);
  let t = performance.now();
  for (let i = 0; i < batch.length; i++) {
    t = runner.run(mb!, batch[i]!, t);
    r.done.push(batch[i]!);
    // Stream completions back every 32 messages so the server can refill while this batch still runs
    // (a wake-up may cost µs: the clock is read again so the next message is not charged for it).
    if ((i & 31) === 31) {
      r.done.wake();
      t = performance.now();
    }
  }
  r.busy[0] = runner.busyNs;
  publishMemory();
  if (batch.length > 0) r.done.wake();
  if (r.sub.sleep()) setImmediate(pass);
  else r.sub.whenRung(pass);
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'init':
      mb = new Mailbox(m.buffer, m.shape);
      rings = laneRings(m.lane);
      rings.sub.whenRung(pass);
      break;
    case 'deploy':
      runner.deploy(m.info);
      deploys++;
      publishMemory();
      break;
    case 'undeploy':
      runner.undeploy(m.info);
      deploys++;
      publishMemory();
      break;
    case 'load':
      load.set(m.fraction, m.mode);
      break;
    case 'tasks':
      tasks.load(m.url, m.init);
      break;
    case 'task':
      tasks.run(m.id, m.task);
      break;
    case 'crash':
      // Test hook for the fault suite: a real uncaught failure of the worker thread.
      setImmediate(() => {
        throw new Error('worker crash requested');
      });
      break;
  }
});
