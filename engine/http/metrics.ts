/**
 * Prometheus metrics per function: calls, errors, latency, fuel, place. A registry per gateway (not
 * prom-client's global one) so several gateways in one process (tests) do not collide.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const FN_BUCKETS = [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5];

/** Counts of one function for one tenant, and the function's time histogram (shared by its tenants). */
interface Series {
  fn: string;
  tenant: string;
  calls: number;
  fuel: number;
  time: TimeHist;
}
interface TimeHist {
  fn: string;
  /** Observations per bucket (not cumulative; the last one is +Inf). */
  buckets: Float64Array;
  sum: number;
  count: number;
  /** Recent mean service time (ms), the scheduler's cost estimate; NaN until the first call. */
  ewma: number;
}

/**
 * A metric kept in plain numbers and written out only when scraped: prom-client hashes the label set on
 * every inc/observe (even through a labelled child), ~1–2 µs each, which at three updates per chain hop
 * cost ~100 µs of gateway thread per 28-hop request. Registered with `registry.registerMetric`.
 */
class ScrapedMetric {
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'histogram', private readonly values: () => Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>) {}
  readonly aggregator = 'sum';
  async get() {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }
  reset(): void {}
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly errors: Counter<'function' | 'tenant' | 'code'>;
  private readonly reqSeconds: Histogram<'kind' | 'name' | 'status'>;
  readonly queueDepth: Gauge<'tenant'>;
  /** Per function and tenant, by `fn\0tenant`. */
  private readonly series = new Map<string, Series>();
  private readonly times = new Map<string, TimeHist>();
  /** A plan's function list (by identity) and tenant → its series in hop-log index order: a hop costs a few adds. */
  private readonly resolved = new WeakMap<readonly string[], { tenant: string; series: Series[] }>();

  constructor(collectQueues: () => Record<string, number>) {
    const registers = [this.registry];
    const all = () => [...this.series.values()];
    this.registry.registerMetric(new ScrapedMetric('roam_function_calls_total', 'Function invocations (each chain hop counts)', 'counter', () => all().map((s) => ({ labels: { function: s.fn, tenant: s.tenant, place: 'host' }, value: s.calls }))) as never);
    this.errors = new Counter({ name: 'roam_function_errors_total', help: 'Function invocations that failed, by error code', labelNames: ['function', 'tenant', 'code'], registers });
    this.registry.registerMetric(new ScrapedMetric('roam_function_fuel_total', 'Fuel used by function invocations', 'counter', () => all().map((s) => ({ labels: { function: s.fn, tenant: s.tenant }, value: s.fuel }))) as never);
    this.registry.registerMetric(new ScrapedMetric('roam_function_duration_seconds', 'Time inside the function (worker side)', 'histogram', () => this.histogramValues()) as never);
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

  private time(fn: string): TimeHist {
    let t = this.times.get(fn);
    if (!t) this.times.set(fn, (t = { fn, buckets: new Float64Array(FN_BUCKETS.length + 1), sum: 0, count: 0, ewma: NaN }));
    return t;
  }

  private seriesOf(fn: string, tenant: string): Series {
    const key = `${fn}\0${tenant}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { fn, tenant, calls: 0, fuel: 0, time: this.time(fn) }));
    return s;
  }

  /** Prometheus histogram lines (cumulative buckets, +Inf, sum, count) per function. */
  private histogramValues() {
    const out: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    const name = 'roam_function_duration_seconds';
    for (const t of this.times.values()) {
      const labels = { function: t.fn, place: 'host' };
      let cum = 0;
      FN_BUCKETS.forEach((le, i) => {
        cum += t.buckets[i]!;
        out.push({ labels: { le, ...labels }, value: cum, metricName: `${name}_bucket` });
      });
      out.push({ labels: { le: '+Inf', ...labels }, value: t.count, metricName: `${name}_bucket` });
      out.push({ labels, value: t.sum, metricName: `${name}_sum` });
      out.push({ labels, value: t.count, metricName: `${name}_count` });
    }
    return out;
  }

  /** `hops`: the worker's flat log [function index into `fns`, fuel, ms, ok] per hop. `fns` is a plan's
   *  function list, kept by the caller: its series are resolved once per list and tenant. */
  recordHops(tenant: string, fns: readonly string[], hops: Float64Array | null, failedCode: string | null): void {
    if (!hops) return;
    let r = this.resolved.get(fns);
    if (!r || r.tenant !== tenant) this.resolved.set(fns, (r = { tenant, series: fns.map((f) => this.seriesOf(f, tenant)) }));
    const series = r.series;
    for (let i = 0; i < hops.length; i += 4) {
      const s = series[hops[i]!]!;
      const ms = hops[i + 2]!;
      s.calls++;
      s.fuel += hops[i + 1]!;
      const t = s.time;
      const sec = ms / 1000;
      let b = 0;
      while (b < FN_BUCKETS.length && sec > FN_BUCKETS[b]!) b++;
      t.buckets[b]!++;
      t.sum += sec;
      t.count++;
      t.ewma = Number.isNaN(t.ewma) ? ms : t.ewma * 0.9 + ms * 0.1;
      if (hops[i + 3] === 0 && failedCode) this.errors.inc({ function: s.fn, tenant, code: failedCode });
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
    for (const f of fns) {
      const e = this.times.get(f)?.ewma;
      c += e === undefined || Number.isNaN(e) ? 0.05 : e;
    }
    return c;
  }
}
