/**
 * Simulated co-located work (other tenants' functions) on a place's thread: spins `fraction` of every
 * 10 ms, so messages queue behind it the way they would on busy host cores. Used by the demo and the
 * steering benchmark to congest a place on purpose.
 */
export class BackgroundLoad {
  private timer: NodeJS.Timeout | undefined;

  set(fraction: number): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!(fraction > 0)) return;
    const spinMs = Math.min(fraction, 0.98) * 10;
    this.timer = setInterval(() => {
      const end = performance.now() + spinMs;
      while (performance.now() < end);
    }, 10);
    this.timer.unref();
  }
}
