import type { LatencyCounts } from './latency.ts';
import type { BundleInfo } from './slot-runner.ts';
import type { PlaceSignals } from '../steering/signals.ts';

export { BUSY_WINDOW_MS, type PlaceSignals } from '../steering/signals.ts';

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

/** An executor on the server side of a place. Host (worker pool) and dpu (agent process) implement it. */
export interface Place {
  readonly name: ServerPlace;
  readonly maxPayload: number;
  /** Accept→reply time counts (latency.ts), where the place keeps them: the dashboard's p50/p99. */
  readonly latency?: LatencyCounts;
  /** Handler run time counts (service time, no queueing), where the place keeps them: /metrics. */
  readonly service?: LatencyCounts;
  /** The place's live signals, in one object the place reuses: read them at once, do not keep them. */
  signals(now?: number): PlaceSignals;
  deploy(info: BundleInfo, shmNames?: Record<string, string>): void;
  /** Drops bundle `id` and its region mappings (a message already queued for it answers E_NO_BUNDLE). */
  undeploy(info: BundleInfo): void;
  submit(p: Pending): void;
  close(): Promise<void>;
}
