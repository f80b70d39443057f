/**
 * Runs function and chain plans on the thread it lives on: one Deployment per bundle hash (the compiled
 * module comes from the registry, never recompiled), one compiled chain program per plan. A function
 * worker (worker.ts) holds one; so does the gateway's inline lane (inline-functions.ts), where tiny
 * functions run on the network thread.
 */
import type { Bundle } from '../bundle/bundle.ts';
import type { PayloadPool, Descriptor } from '../chains/payload-pool.ts';
import { ChainError, ChainProgram, type CallFn } from '../chains/runner.ts';
import { isRoamError } from '../errors.ts';
import { Deployment, Engine } from '../runtime/engine.ts';
import { RegionStore } from '../regions/region-store.ts';
import type { EngineLimits } from '../verify/verify.ts';
import type { BundleRef, PlanDef, RunResult, RunTask } from './task.ts';

interface Plan {
  prog: ChainProgram;
  call: CallFn;
  isRemote: (fn: number) => boolean;
}

/** A run's result, and the buffer to transfer with it when the output left the payload pool. */
export interface Executed {
  result: RunResult;
  transfer?: ArrayBuffer;
}

const MAX_CACHED = 256;
const isDescriptor = (x: Descriptor | Uint8Array): x is Descriptor => !(x instanceof Uint8Array);

export class PlanRunner {
  /** Region memory comes from the registry (see BundleRef.regions), never allocated here. */
  private readonly sharedRegions = new Map<string, SharedArrayBuffer>();
  private readonly engine: Engine;
  private readonly deployments = new Map<string, Deployment>();
  private readonly plans = new Map<number, Plan>();

  constructor(limits: EngineLimits, private readonly pool: PayloadPool) {
    this.engine = new Engine({
      limits,
      regions: new RegionStore((key, size) => {
        const b = this.sharedRegions.get(key);
        if (!b || b.byteLength < size) throw new Error(`region ${key} was not shared with this thread`);
        return b;
      }),
    });
  }

  install(ref: BundleRef): void {
    if (this.deployments.has(ref.hash)) return;
    if (this.deployments.size >= MAX_CACHED) this.deployments.delete(this.deployments.keys().next().value!);
    for (const [key, buf] of Object.entries(ref.regions)) this.sharedRegions.set(key, buf);
    // A Deployment reads only the manifest and hash of its bundle; the module is compiled already.
    const bundle = { manifest: ref.manifest, hash: ref.hash } as Bundle;
    this.deployments.set(ref.hash, new Deployment(this.engine, bundle, ref.module, 1));
  }

  has(hash: string): boolean {
    return this.deployments.has(hash);
  }

  plan(id: number): Plan | undefined {
    return this.plans.get(id);
  }

  /** Compiles a plan: each function index resolves to its deployment's entry once, not per call. */
  compile(def: PlanDef): Plan {
    const reachable = new Set([...Object.keys(def.targets), ...def.remote]);
    const prog = new ChainProgram({ route: def.route, steps: def.steps, reachable, maxHops: def.maxHops });
    const fns = prog.fns.map((f) => {
      if (!(f in def.targets)) return null; // remote: the runner stops before it
      const d = this.deployments.get(def.targets[f]!)!;
      const e = d.entry(f);
      // Replies are borrowed from the guest's memory (no copy per hop): the runner reads each one before the next call.
      return (input: Uint8Array, body?: Uint8Array) => d.callEntry(e, input, body, true);
    });
    const remote = fns.map((f) => f === null);
    const p = { prog, call: (i: number, input: Uint8Array, body?: Uint8Array) => fns[i]!(input, body), isRemote: (i: number) => remote[i]! };
    if (this.plans.size >= MAX_CACHED) this.plans.delete(this.plans.keys().next().value!);
    this.plans.set(def.id, p);
    return p;
  }

  /**
   * Runs a compiled plan on the task's input (freed here when it is a pool descriptor); never throws.
   * `here`: the output is read on this thread (the gateway's inline lane), so it is copied out into a
   * Buffer of its own rather than a pool slot that would have to be freed when the response closes.
   */
  execute(task: Pick<RunTask, 'input' | 'resume' | 'def'>, { prog, call, isRemote }: Plan, here = false): Executed {
    const pool = this.pool;
    const input = task.input === null ? null : isDescriptor(task.input) ? pool.view(task.input) : task.input;
    try {
      const out = prog.run(input, call, isRemote, task.resume);
      if ('suspend' in out) return { result: { ok: true, remote: out.suspend, hops: out.suspend.hops } };
      const { reply, hops } = out;
      if (here) return { result: { ok: true, output: Buffer.from(reply), hops: hops.packed() } };
      const d = pool.alloc(reply.length);
      if (d) {
        pool.view(d).set(reply);
        return { result: { ok: true, output: d, hops: hops.packed() } };
      }
      // Too big for a slot: hand the reply's own buffer over (transferred, not copied): a body written with
      // roam:body.write is already in one; a reply borrowed from a guest's memory is copied out once.
      const own = (reply.buffer as ArrayBuffer & { resizable?: boolean }).resizable === true || (reply.byteOffset === 0 && reply.byteLength === reply.buffer.byteLength);
      const bytes = own ? reply : reply.slice();
      return { result: { ok: true, output: bytes, hops: hops.packed() }, transfer: bytes.buffer as ArrayBuffer };
    } catch (e) {
      const hops = e instanceof ChainError ? (e.hops?.packed() ?? null) : null;
      const fn = e instanceof ChainError ? e.fn : (task.def?.steps[0] ?? prog.plan.steps[0] ?? '');
      const code = isRoamError(e) ? e.code : 'E_TRAP';
      const cause = isRoamError(e) ? (e.cause as { status?: number } | undefined) : undefined;
      return { result: { ok: false, code, message: (e as Error).message, fn, appStatus: cause?.status ?? null, hops } };
    } finally {
      if (task.input !== null && isDescriptor(task.input)) pool.free(task.input);
    }
  }
}
