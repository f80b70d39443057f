/**
 * Simulated co-located work (other tenants' functions) on a place's thread: holds the thread for
 * `fraction` of every 10 ms, so messages queue behind it the way they would on busy host cores.
 *
 * `block` (default) holds the thread in Atomics.wait: the place is unavailable but the CPU stays free,
 * as on a real server whose DPU has cores of its own. `spin` burns the CPU instead — on this 2-core VM
 * that also starves the DPU agent, the server thread and the client, which a real DPU would not share.
 */
export type LoadMode = 'block' | 'spin';

export class BackgroundLoad {
  private timer: NodeJS.Timeout | undefined;
  private readonly cell = new Int32Array(new SharedArrayBuffer(4));

  set(fraction: number, mode: LoadMode = 'block'): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!(fraction > 0)) return;
    const holdMs = Math.min(fraction, 0.98) * 10;
    const hold = () => {
      const end = performance.now() + holdMs;
      if (mode === 'block') Atomics.wait(this.cell, 0, 0, holdMs);
      while (performance.now() < end);
    };
    // Congestion starts now, not one period later.
    setImmediate(hold);
    this.timer = setInterval(hold, 10);
    this.timer.unref();
  }
}
