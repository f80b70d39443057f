/**
 * A function worker: keeps one Deployment per bundle hash (compiled module shared from the gateway)
 * and runs single functions and whole chains. Calls are synchronous; the gateway's watchdog terminates
 * this thread if a call outlives its deadline.
 */
import { threadId, workerData } from 'node:worker_threads';
import { readBundle } from '../bundle/bundle.ts';
import { PayloadPool, type Descriptor } from '../chains/payload-pool.ts';
import { ChainError, runChain } from '../chains/runner.ts';
import { isRoamError } from '../errors.ts';
import { Deployment, Engine } from '../runtime/engine.ts';
import type { BundleRef, RunResult, RunTask, WorkerInit, WorkerReply } from './task.ts';

const init = workerData as WorkerInit;
const pool = PayloadPool.attach(init.pool);
const engine = new Engine({ limits: init.limits });
const clocks = new BigInt64Array(init.clocks);
const deployments = new Map<string, Deployment>();
const MAX_CACHED = 256;

function install(ref: BundleRef): void {
  if (deployments.has(ref.hash)) return;
  if (deployments.size >= MAX_CACHED) deployments.delete(deployments.keys().next().value!);
  deployments.set(ref.hash, new Deployment(engine, readBundle(ref.bytes), ref.module, 1));
}

const isDescriptor = (x: Descriptor | Uint8Array): x is Descriptor => !(x instanceof Uint8Array);

export default function run(task: RunTask): WorkerReply {
  Atomics.store(clocks, 2 * task.clock + 1, BigInt(threadId));
  Atomics.store(clocks, 2 * task.clock, BigInt(Date.now()));
  if (task.refs) for (const ref of Object.values(task.refs)) install(ref);
  const missing = [...new Set(Object.values(task.targets))].filter((h) => !deployments.has(h));
  if (missing.length > 0) return { miss: missing };
  return execute(task);
}

function execute(task: RunTask): RunResult {
  const input = isDescriptor(task.input) ? pool.view(task.input) : task.input;
  const reachable = new Set(Object.keys(task.targets));
  try {
    const { reply, hops } = runChain(
      { route: task.route, steps: task.steps, reachable, maxHops: task.maxHops },
      task.head,
      input,
      (fn, bytes) => deployments.get(task.targets[fn]!)!.call(fn, bytes),
      pool,
    );
    const d = pool.alloc(reply.length);
    if (!d) return { ok: true, output: reply, hops };
    pool.view(d).set(reply);
    return { ok: true, output: d, hops };
  } catch (e) {
    const hops = e instanceof ChainError ? e.hops : [];
    const fn = e instanceof ChainError ? e.fn : (task.steps[0] ?? '');
    const code = isRoamError(e) ? e.code : 'E_TRAP';
    const cause = isRoamError(e) ? (e.cause as { status?: number } | undefined) : undefined;
    return { ok: false, code, message: (e as Error).message, fn, appStatus: cause?.status ?? null, hops };
  } finally {
    if (isDescriptor(task.input)) pool.free(task.input);
  }
}
