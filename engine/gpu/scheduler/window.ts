/** Device time used over a sliding window: samples (end time, ms) kept until they age out. */
export class SlidingWindow {
  private readonly at: number[] = [];
  private readonly ms: number[] = [];
  private head = 0;
  private total = 0;

  constructor(readonly windowMs: number) {}

  add(now: number, ms: number): void {
    this.at.push(now);
    this.ms.push(ms);
    this.total += ms;
  }

  /** Milliseconds used in (now - window, now]. */
  sum(now: number): number {
    const cut = now - this.windowMs;
    while (this.head < this.at.length && this.at[this.head]! <= cut) this.total -= this.ms[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at.splice(0, this.head);
      this.ms.splice(0, this.head);
      this.head = 0;
    }
    if (this.head === this.at.length) this.total = 0; // drop float drift when empty
    return this.total;
  }
}

/** Latencies of the last N completions, for p50/p99 without unbounded memory. */
export class LatencyRing {
  private readonly buf: Float64Array;
  private n = 0;
  constructor(size = 4096) {
    this.buf = new Float64Array(size);
  }
  add(ms: number): void {
    this.buf[this.n++ % this.buf.length] = ms;
  }
  percentile(p: number): number {
    const len = Math.min(this.n, this.buf.length);
    if (len === 0) return 0;
    const s = this.buf.slice(0, len).sort();
    return s[Math.min(len - 1, Math.floor((p / 100) * len))]!;
  }
}
