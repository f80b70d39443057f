/**
 * Prometheus metrics per function: calls, errors, latency, fuel, place. A registry per gateway (not
 * prom-client's global one) so several gateways in one process (tests) do not collide.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'function' | 'tenant' | 'place'>;
  private readonly errors: Counter<'function' | 'tenant' | 'code'>;
  private readonly fuel: Counter<'function' | 'tenant'>;
  private readonly fnSeconds: Histogram<'function' | 'place'>;
  private readonly reqSeconds: Histogram<'kind' | 'name' | 'status'>;
  readonly queueDepth: Gauge<'tenant'>;
  /** Recent mean service time per function (ms), the scheduler's cost estimate. */
  private readonly ewma = new Map<string, number>();
  /** Labelled children cached per function and tenant: label lookup is most of a prom-client update. */
  private readonly children = new Map<string, { calls: Counter.Internal; fuel: Counter.Internal; seconds: Histogram.Internal<'function' | 'place'> }>();

  constructor(collectQueues: () => Record<string, number>) {
    const registers = [this.registry];
    this.calls = new Counter({ name: 'roam_function_calls_total', help: 'Function invocations (each chain hop counts)', labelNames: ['function', 'tenant', 'place'], registers });
    this.errors = new Counter({ name: 'roam_function_errors_total', help: 'Function invocations that failed, by error code', labelNames: ['function', 'tenant', 'code'], registers });
    this.fuel = new Counter({ name: 'roam_function_fuel_total', help: 'Fuel used by function invocations', labelNames: ['function', 'tenant'], registers });
    this.fnSeconds = new Histogram({ name: 'roam_function_duration_seconds', help: 'Time inside the function (worker side)', labelNames: ['function', 'place'], buckets: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5], registers });
    this.reqSeconds = new Histogram({ name: 'roam_request_duration_seconds', help: 'HTTP request time at the gateway (queueing included)', labelNames: ['kind', 'name', 'status'], buckets: [1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5], registers });
    this.queueDepth = new Gauge({
      name: 'roam_tenant_queue_depth',
      help: 'Runs waiting in the fair scheduler per tenant',
      labelNames: ['tenant'],
      registers,
      collect() {
        for (const [t, n] of Object.entries(collectQueues())) this.set({ tenant: t }, n);
      },
    });
  }

  /** `hops`: the worker's flat log [function index into `fns`, fuel, ms, ok] per hop. */
  recordHops(tenant: string, fns: readonly string[], hops: Float64Array | null, failedCode: string | null): void {
    if (!hops) return;
    for (let i = 0; i < hops.length; i += 4) {
      const fn = fns[hops[i]!]!;
      const ms = hops[i + 2]!;
      const key = `${fn}\0${tenant}`;
      let c = this.children.get(key);
      if (!c) {
        c = { calls: this.calls.labels({ function: fn, tenant, place: 'host' }), fuel: this.fuel.labels({ function: fn, tenant }), seconds: this.fnSeconds.labels({ function: fn, place: 'host' }) };
        this.children.set(key, c);
      }
      c.calls.inc();
      c.fuel.inc(hops[i + 1]!);
      c.seconds.observe(ms / 1000);
      if (hops[i + 3] === 0 && failedCode) this.errors.inc({ function: fn, tenant, code: failedCode });
      const prev = this.ewma.get(fn);
      this.ewma.set(fn, prev === undefined ? ms : prev * 0.9 + ms * 0.1);
    }
  }

  recordFailure(fn: string, tenant: string, code: string): void {
    this.errors.inc({ function: fn, tenant, code });
  }

  recordRequest(kind: string, name: string, status: number, seconds: number): void {
    this.reqSeconds.observe({ kind, name, status: String(status) }, seconds);
  }

  /** Expected cost (ms) of running these functions once; 0.05 ms for a function never seen. */
  cost(fns: string[]): number {
    let c = 0;
    for (const f of fns) c += this.ewma.get(f) ?? 0.05;
    return c;
  }
}
