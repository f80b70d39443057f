import type { LatencyCounts } from './latency.ts';
import type { BundleInfo } from './slot-runner.ts';

export type ServerPlace = 'host' | 'dpu';

/**
 * The outcome of one message at a place: exactly one per message. A successful `reply` may be a view
 * into the place's slot that is reused once `done` returns (replies are encoded straight into the
 * outgoing frame buffer): copy it to keep it.
 */
export type PlaceResult =
  | { ok: true; reply: Uint8Array; place: ServerPlace; serviceNs: number }
  | { ok: false; code: string; message: string; place?: ServerPlace };

/** A message on its way to a place. `done` is called exactly once. */
export interface Pending {
  bundle: number;
  handler: number;
  /** Valid only during `submit` (a view into the connection's input buffer, reused by the next read): a
   *  place that keeps the message past that (a backlog, a re-route) keeps a copy. */
  payload: Uint8Array;
  /** performance.now() when the server accepted it. */
  accepted: number;
  /** The caller takes its reply synchronously inside submission (a socket's call encodes it at once), so
   *  the host may run it inline on the network thread (inline-lane.ts). Callers that re-submit from
   *  `done` must leave this unset. */
  inline?: boolean;
  done(r: PlaceResult): void;
}

/** Busy share is measured over windows this long: short enough to see co-located load well within the 50 ms shift goal. */
export const BUSY_WINDOW_MS = 25;

/** Live signals steering reads (per place). */
export interface PlaceSignals {
  available: boolean;
  /** Messages accepted and not yet replied. */
  queue: number;
  /** Lanes that run in parallel (worker threads, agent processes). */
  parallelism: number;
  /** EWMA of accept→reply time, ms. */
  sojournMs: number;
  /** EWMA of pure execution time per message, ms. */
  serviceMs: number;
  /** EWMA of the time per message while backlogged (drain-rate.ts), ms: what a queued message waits per message ahead. */
  drainMs?: number;
  /** Share of the last busy window the place's threads were not idle: handlers and any co-located work (0..1). */
  busy: number;
  /** performance.now() of the last completion. */
  lastDone: number;
  /** performance.now() when the place last went from idle to holding messages: a place that was idle has
   *  an old lastDone without being stalled, so stall time counts from the later of the two. */
  busySince?: number;
}

/** An executor on the server side of a place. Host (worker pool) and dpu (agent process) implement it. */
export interface Place {
  readonly name: ServerPlace;
  readonly maxPayload: number;
  /** Accept→reply time counts (latency.ts), where the place keeps them: the dashboard's p50/p99. */
  readonly latency?: LatencyCounts;
  /** The place's live signals, in one object the place reuses: read them at once, do not keep them. */
  signals(now?: number): PlaceSignals;
  deploy(info: BundleInfo, shmNames?: Record<string, string>): void;
  submit(p: Pending): void;
  close(): Promise<void>;
}
