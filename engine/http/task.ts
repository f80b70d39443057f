/** Messages between the gateway thread and its function workers (structured-clone friendly, kept small). */
import type { Descriptor, PayloadPoolInit } from '../chains/payload-pool.ts';
import type { Resume, Suspension } from '../chains/runner.ts';
import type { EngineLimits } from '../verify/verify.ts';
import type { Manifest } from '../bundle/manifest.ts';

/** A deployed bundle as workers see it: the compiled module is shared, not recompiled per worker. */
export interface BundleRef {
  hash: string;
  module: WebAssembly.Module;
  /** The verified manifest (workers do not parse or hash the bundle again). */
  manifest: Manifest;
  /** The bundle's regions by RegionStore key (`tenant/bundle/region`): one memory for every worker. */
  regions: Record<string, SharedArrayBuffer>;
}

export interface WorkerInit {
  pool: PayloadPoolInit;
  /** Per run: [start time in ms since epoch (0 = not started), worker thread id], so the watchdog counts
   *  run time, not queueing, and knows which worker to terminate. */
  clocks: SharedArrayBuffer;
  limits: EngineLimits;
  /** BroadcastChannel name on which the gateway sends every worker a fresh deploy's plans (`WarmMessage`). */
  warm: string;
}

/** Sent to every worker at once when bundles are deployed: install them (instantiate) and compile these
 *  plans now, so the first invocation finds a warm instance instead of carrying the module over. */
export interface WarmMessage {
  defs: PlanDef[];
  refs: Record<string, BundleRef>;
  /** Hashes of retired bundle versions: each worker drops their instances and the plans that call them. */
  drop?: string[];
}

/** A worker's answer on the same channel: the plans it now holds compiled, over instantiated bundles.
 *  A worker that has just started sends one with no plans (`hello`), and is sent the recent deploys. */
export interface WarmAck {
  ack: number;
  plans: number[];
  hello?: true;
  /** What this worker holds after handling the message (for GET /v1/stats). */
  memory?: { deployments: number; plans: number };
}

/** What a function or chain run needs, sent to a worker once (then named by `id`). */
export interface PlanDef {
  id: number;
  /** Chain route, or null for a single function. */
  route: string | null;
  steps: string[];
  /** Function name → hash of the bundle that serves it, for every function the run may reach. */
  targets: Record<string, string>;
  /** Steps named by URL: functions in another process or host (engine/chains/remote.ts). */
  remote: string[];
  maxHops: number;
}

export interface RunTask {
  plan: number;
  /** Sent only when a worker said it lacks the plan, with the bundles it lacks. */
  def?: PlanDef;
  refs?: Record<string, BundleRef>;
  /** The encoded first request: a descriptor into the payload pool, or bytes (shared memory when large);
   *  null when the run goes on after a remote step (`resume`). */
  input: Descriptor | Uint8Array | null;
  resume?: Resume;
  /** Index in the start-time array the worker stamps when the run begins. */
  clock: number;
}

/** `hops`: flat per-hop stats [function index in the plan's function list, fuel, ms, ok] (see HopLog). */
export type RunResult =
  | { ok: true; output: Descriptor | Uint8Array; hops: Float64Array }
  | { ok: true; remote: Suspension; hops: Float64Array }
  | { ok: false; code: string; message: string; fn: string; appStatus: number | null; hops: Float64Array | null };

/** What a worker answers: a result, or "I lack this plan / these bundles" (nothing ran, input untouched). */
export type WorkerReply = RunResult | { miss: string[] | null };
