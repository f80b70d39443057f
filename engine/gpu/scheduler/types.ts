/** Public shapes of the gpu scheduler: quotas, options and statistics. */

export interface FunctionQuota {
  /** Share of device time per window, 0 < share ≤ 1. */
  share: number;
  /**
   * Latency target, ms (default 20): this function's same-shape dispatches are batched only while
   * the oldest of them would still complete within it (wait so far + estimated batch time).
   */
  latencyMs?: number;
  /** Dispatches that may wait in the queue before submit refuses (default 4096). */
  maxQueue?: number;
}

export interface SchedulerOptions {
  /** `share` (default): time shares over a sliding window, batching. `fcfs`: plain first-come-first-served, one dispatch at a time. */
  policy?: 'share' | 'fcfs';
  windowMs?: number;
  /** Most dispatches in one batch (default 32). */
  maxBatch?: number;
  /** Let a function over its share use the device when nobody under their share is waiting (default true). */
  workConserving?: boolean;
}

export interface FunctionStats {
  id: string;
  share: number;
  /** Fraction of the device time used in the window that went to this function. */
  achievedShare: number;
  usedMs: number;
  /** Device time used since the function was registered (busy time). */
  totalMs: number;
  /** Time its dispatches spent queued before reaching the device, since registration. */
  queuedMs: number;
  latencyMs: number;
  overQuota: boolean;
  queued: number;
  inFlight: number;
  submitted: number;
  completed: number;
  failed: number;
  refused: number;
  p50Ms: number;
  p99Ms: number;
  /** Dispatch latency (queue + device) since registration: counts per SECONDS_BUCKETS bucket (+Inf last), and their sum in seconds. */
  latency: { counts: number[]; sumSeconds: number };
}

export interface SchedulerStats {
  policy: 'share' | 'fcfs';
  windowMs: number;
  slots: number;
  /** Device time used in the window over its capacity (window × slots). */
  utilization: number;
  batches: number;
  dispatches: number;
  functions: FunctionStats[];
}
