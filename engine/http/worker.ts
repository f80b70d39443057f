/**
 * The task module the host workers load (engine/places/worker-tasks.ts) to run functions and chains:
 * one PlanRunner per worker thread, plans and bundles broadcast at deploy, runs stamped for the watchdog.
 * Calls are synchronous; the executor's watchdog terminates the thread if a call outlives its deadline.
 */
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { PayloadPool } from '../chains/payload-pool.ts';
import { PlanRunner } from './plan-runner.ts';
import type { RunTask, WarmAck, WarmMessage, WorkerInit, WorkerReply } from './task.ts';
import type { TaskOutcome } from '../places/worker-tasks.ts';

export function createTaskRunner(init: WorkerInit): (task: RunTask) => TaskOutcome {
  const runner = new PlanRunner(init.limits, PayloadPool.attach(init.pool));
  const clocks = new BigInt64Array(init.clocks);
  // A deploy's bundles and plans, broadcast to every worker: instantiated and compiled here between tasks,
  // so the first invocation neither carries the module over nor waits for the instance.
  const warm = new BroadcastChannel(init.warm);
  warm.unref();
  warm.onmessage = (e: unknown) => {
    const m = (e as { data: WarmMessage | WarmAck }).data;
    if ('ack' in m) return; // another worker's answer
    for (const h of m.drop ?? []) runner.forget(h);
    const ready: number[] = [];
    for (const ref of Object.values(m.refs)) {
      try {
        runner.install(ref);
      } catch {
        // a bundle that fails to instantiate here fails its first run with the reason instead
      }
    }
    for (const def of m.defs) {
      if (!runner.plan(def.id) && Object.values(def.targets).every((h) => runner.has(h))) runner.compile(def);
      if (runner.plan(def.id)) ready.push(def.id);
    }
    warm.postMessage({ ack: threadId, plans: ready, memory: runner.memory() } satisfies WarmAck);
  };
  // A worker started after a deploy (at boot, or replacing one the watchdog terminated) asks for it.
  warm.postMessage({ ack: threadId, plans: [], hello: true } satisfies WarmAck);

  return (task: RunTask): TaskOutcome => {
    Atomics.store(clocks, 2 * task.clock + 1, BigInt(threadId));
    Atomics.store(clocks, 2 * task.clock, BigInt(Date.now()));
    let p = runner.plan(task.plan);
    if (!p) {
      if (!task.def) return { reply: { miss: null } satisfies WorkerReply };
      if (task.refs) for (const ref of Object.values(task.refs)) runner.install(ref);
      const missing = [...new Set(Object.values(task.def.targets))].filter((h) => !runner.has(h));
      if (missing.length > 0) return { reply: { miss: missing } satisfies WorkerReply };
      p = runner.compile(task.def);
    }
    const { result, transfer } = runner.execute(task, p);
    return transfer ? { reply: result, transfer: [transfer] } : { reply: result };
  };
}
