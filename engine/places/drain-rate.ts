const ALPHA = 0.2;
/** A drain time older than this is forgotten: it described a backlog that is gone (a cold start, say). */
const FORGET_MS = 100;

/**
 * Effective time per message while a place is backlogged: the time between two completion batches divided
 * by the messages in the second one, sampled only when messages were waiting the whole time. Unlike the
 * handler's own service time it includes everything a place pays per message — batching, its transport,
 * co-located work on its cores — so the queue term of steering grows as fast as the place really drains
 * (the dpu agent runs a 2 µs kv get but drains ~100x slower over its socket).
 */
export class DrainRate {
  /** EWMA, ms per message (0 until measured). */
  private ms = 0;
  /** When the last batch completed with messages still in flight (0: the place went idle). */
  private since = 0;
  private sampledAt = 0;

  batch(n: number, now: number, stillQueued: boolean): void {
    if (this.since > 0 && n > 0) {
      this.ms += ALPHA * ((now - this.since) / n - this.ms);
      this.sampledAt = now;
    }
    this.since = stillQueued ? now : 0;
  }

  /** The drain time, ms per message; 0 (unknown) when the place has not been backlogged lately. */
  at(now: number): number {
    return now - this.sampledAt > FORGET_MS ? 0 : this.ms;
  }
}
