/** Messages between the gateway thread and its function workers (structured-clone friendly). */
import type { Descriptor, PayloadPoolInit } from '../chains/payload-pool.ts';
import type { HopStat } from '../chains/runner.ts';
import type { RequestHead } from '../chains/request-codec.ts';
import type { EngineLimits } from '../verify/verify.ts';

/** A deployed bundle as workers see it: the compiled module is shared, not recompiled per worker. */
export interface BundleRef {
  hash: string;
  module: WebAssembly.Module;
  /** The original bundle bytes (backed by a SharedArrayBuffer, so cloning shares rather than copies). */
  bytes: Uint8Array;
}

export interface WorkerInit {
  pool: PayloadPoolInit;
  /** Per run: [start time in ms since epoch (0 = not started), worker thread id], so the watchdog counts
   *  run time, not queueing, and knows which worker to terminate. */
  clocks: SharedArrayBuffer;
  limits: EngineLimits;
}

export interface RunTask {
  route: string | null;
  steps: string[];
  /** Function name → hash of the bundle that serves it, for every function the run may reach. */
  targets: Record<string, string>;
  /** Bundles by hash, sent only when a worker said it lacks them (keeps the common task small). */
  refs?: Record<string, BundleRef>;
  head: RequestHead;
  /** The encoded first request: a descriptor into the payload pool, or the bytes when they did not fit. */
  input: Descriptor | Uint8Array;
  maxHops: number;
  /** Index in the start-time array the worker stamps when the run begins. */
  clock: number;
}

export type RunResult =
  | { ok: true; output: Descriptor | Uint8Array; hops: HopStat[] }
  | { ok: false; code: string; message: string; fn: string; appStatus: number | null; hops: HopStat[] };

/** What a worker answers: a result, or "I have not seen these bundles yet" (nothing ran, input untouched). */
export type WorkerReply = RunResult | { miss: string[] };
