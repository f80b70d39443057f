/**
 * A function worker: keeps one Deployment per bundle hash (compiled module shared from the gateway) and
 * one compiled chain program per plan, and runs single functions and whole chains. Calls are synchronous;
 * the gateway's watchdog terminates this thread if a call outlives its deadline.
 */
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { Bundle } from '../bundle/bundle.ts';
import { PayloadPool, type Descriptor } from '../chains/payload-pool.ts';
import { ChainError, ChainProgram, type CallFn } from '../chains/runner.ts';
import { isRoamError } from '../errors.ts';
import { Deployment, Engine } from '../runtime/engine.ts';
import { RegionStore } from '../regions/region-store.ts';
import type { BundleRef, PlanDef, RunResult, RunTask, WarmAck, WarmMessage, WorkerInit, WorkerReply } from './task.ts';

const init = workerData as WorkerInit;
const pool = PayloadPool.attach(init.pool);
/** Region memory comes from the gateway (see BundleRef.regions), never allocated here. */
const sharedRegions = new Map<string, SharedArrayBuffer>();
const engine = new Engine({
  limits: init.limits,
  regions: new RegionStore((key, size) => {
    const b = sharedRegions.get(key);
    if (!b || b.byteLength < size) throw new Error(`region ${key} was not shared with this worker`);
    return b;
  }),
});
const clocks = new BigInt64Array(init.clocks);
const deployments = new Map<string, Deployment>();
interface Plan {
  prog: ChainProgram;
  call: CallFn;
  isRemote: (fn: number) => boolean;
}
const plans = new Map<number, Plan>();
const MAX_CACHED = 256;

function install(ref: BundleRef): void {
  if (deployments.has(ref.hash)) return;
  if (deployments.size >= MAX_CACHED) deployments.delete(deployments.keys().next().value!);
  for (const [key, buf] of Object.entries(ref.regions)) sharedRegions.set(key, buf);
  // A Deployment reads only the manifest and hash of its bundle; the module is compiled already.
  const bundle = { manifest: ref.manifest, hash: ref.hash } as Bundle;
  deployments.set(ref.hash, new Deployment(engine, bundle, ref.module, 1));
}

/** Compiles a plan: each function index resolves to its deployment's entry once, not per call. */
function compile(def: PlanDef): Plan {
  const reachable = new Set([...Object.keys(def.targets), ...def.remote]);
  const prog = new ChainProgram({ route: def.route, steps: def.steps, reachable, maxHops: def.maxHops });
  const fns = prog.fns.map((f) => {
    if (!(f in def.targets)) return null; // remote: the runner stops before it
    const d = deployments.get(def.targets[f]!)!;
    const e = d.entry(f);
    // Replies are borrowed from the guest's memory (no copy per hop): the runner reads each one before the next call.
    return (input: Uint8Array, body?: Uint8Array) => d.callEntry(e, input, body, true);
  });
  const remote = fns.map((f) => f === null);
  const p = { prog, call: (i: number, input: Uint8Array, body?: Uint8Array) => fns[i]!(input, body), isRemote: (i: number) => remote[i]! };
  if (plans.size >= MAX_CACHED) plans.delete(plans.keys().next().value!);
  plans.set(def.id, p);
  return p;
}

// A deploy's bundles and plans, broadcast to every worker: instantiated and compiled here between tasks,
// so the first invocation neither carries the module over nor waits for the instance.
const warm = new BroadcastChannel(init.warm);
warm.unref();
warm.onmessage = (e: unknown) => {
  const m = (e as { data: WarmMessage | WarmAck }).data;
  if ('ack' in m) return; // another worker's answer
  const ready: number[] = [];
  for (const ref of Object.values(m.refs)) {
    try {
      install(ref);
    } catch {
      // a bundle that fails to instantiate here fails its first run with the reason instead
    }
  }
  for (const def of m.defs) {
    if (!plans.has(def.id) && Object.values(def.targets).every((h) => deployments.has(h))) compile(def);
    if (plans.has(def.id)) ready.push(def.id);
  }
  warm.postMessage({ ack: threadId, plans: ready } satisfies WarmAck);
};
// A worker started after a deploy (at boot, or replacing one the watchdog terminated) asks for it.
warm.postMessage({ ack: threadId, plans: [], hello: true } satisfies WarmAck);

const isDescriptor = (x: Descriptor | Uint8Array): x is Descriptor => !(x instanceof Uint8Array);

export default function run(task: RunTask): WorkerReply | ReturnType<typeof move> {
  Atomics.store(clocks, 2 * task.clock + 1, BigInt(threadId));
  Atomics.store(clocks, 2 * task.clock, BigInt(Date.now()));
  let p = plans.get(task.plan);
  if (!p) {
    if (!task.def) return { miss: null };
    if (task.refs) for (const ref of Object.values(task.refs)) install(ref);
    const missing = [...new Set(Object.values(task.def.targets))].filter((h) => !deployments.has(h));
    if (missing.length > 0) return { miss: missing };
    p = compile(task.def);
  }
  return execute(task, p);
}

function execute(task: RunTask, { prog, call, isRemote }: Plan): RunResult | ReturnType<typeof move> {
  const input = task.input === null ? null : isDescriptor(task.input) ? pool.view(task.input) : task.input;
  try {
    const out = prog.run(input, call, isRemote, task.resume);
    if ('suspend' in out) return { ok: true, remote: out.suspend, hops: out.suspend.hops };
    const { reply, hops } = out;
    const d = pool.alloc(reply.length);
    if (d) {
      pool.view(d).set(reply);
      return { ok: true, output: d, hops: hops.packed() };
    }
    // Too big for a slot: hand the reply's own buffer over (transferred, not copied): a body written with
    // roam:body.write is already in one; a reply borrowed from a guest's memory is copied out once.
    const own = (reply.buffer as ArrayBuffer & { resizable?: boolean }).resizable === true || (reply.byteOffset === 0 && reply.byteLength === reply.buffer.byteLength);
    const bytes = own ? reply : reply.slice();
    const result: RunResult = { ok: true, output: bytes, hops: hops.packed() };
    return move({ [transferableSymbol]: [bytes.buffer], [valueSymbol]: result } as never);
  } catch (e) {
    const hops = e instanceof ChainError ? (e.hops?.packed() ?? null) : null;
    const fn = e instanceof ChainError ? e.fn : (task.def?.steps[0] ?? prog.plan.steps[0] ?? '');
    const code = isRoamError(e) ? e.code : 'E_TRAP';
    const cause = isRoamError(e) ? (e.cause as { status?: number } | undefined) : undefined;
    return { ok: false, code, message: (e as Error).message, fn, appStatus: cause?.status ?? null, hops };
  } finally {
    if (task.input !== null && isDescriptor(task.input)) pool.free(task.input);
  }
}
