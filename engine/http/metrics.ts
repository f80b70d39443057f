/**
 * Prometheus metrics of the HTTP front door and its functions: requests by route and status (404s and
 * refusals included), request time per function or chain, calls, errors, fuel and time per function.
 * A registry per gateway (not prom-client's global one) so several gateways in one process (tests) do
 * not collide. Everything is kept in plain numbers and written out when scraped (observe/metrics.ts):
 * prom-client's own Counter and Histogram hash the label set on every update, ~1–2 µs each, which at
 * three updates per chain hop cost ~100 µs of gateway thread per 28-hop request.
 *
 * Label values are bounded: routes are a fixed set, statuses are HTTP's, error labels are codes,
 * function, chain and tenant names are the registry's (a name is recorded only once it resolved to a
 * deployed function or chain, never a path from the request), and each family holds at most
 * MAX_SERIES of them: past that, new names count under `_other`.
 */
import { Registry } from 'prom-client';
import { Buckets, capRows, CodeCounts, histogramSamples, MAX_SERIES, OTHER, scraped, SECONDS_BUCKETS, type Sample } from '../observe/metrics.ts';

const FN_BUCKETS = [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5];

/** Counts of one function for one tenant, and the function's time histogram (shared by its tenants). */
interface Series {
  fn: string;
  tenant: string;
  calls: number;
  fuel: number;
  errors: CodeCounts;
  time: TimeHist;
}
interface TimeHist {
  fn: string;
  buckets: Buckets;
  /** Recent mean service time (ms), the scheduler's cost estimate; NaN until the first call. */
  ewma: number;
}
/** Requests to one function or chain: time, and counts by status. */
interface RequestSeries {
  kind: string;
  name: string;
  time: Buckets;
  /** Requests per HTTP status (100–599, index status − 100). */
  byStatus: Float64Array;
}

/** The front door's routes: the first path segment, or `other` (a 404 for an unknown path is counted there). */
export const ROUTES = ['fn', 'chain', 'v1', 'ui', 'metrics', 'healthz', 'other'] as const;
export type Route = (typeof ROUTES)[number];

export class GatewayMetrics {
  readonly registry = new Registry();
  /** Per function and tenant, by `fn\0tenant`. */
  private readonly series = new Map<string, Series>();
  private readonly times = new Map<string, TimeHist>();
  private readonly requests = { fn: new Map<string, RequestSeries>(), chain: new Map<string, RequestSeries>() };
  /** Every request answered, per route and status (index status − 100). */
  private readonly http = ROUTES.map(() => new Float64Array(500));
  /** A plan's function list (by identity) and tenant → its series in hop-log index order: a hop costs a few adds. */
  private readonly resolved = new WeakMap<readonly string[], { tenant: string; series: Series[] }>();

  constructor(collectQueues: () => Record<string, number>) {
    const r = this.registry;
    const all = () => [...this.series.values()];
    scraped(r, 'roam_http_requests_total', 'HTTP requests answered, by route (first path segment) and status; refusals (401, 404, 413, 429 …) included', 'counter', () => this.httpSamples());
    scraped(r, 'roam_requests_total', 'Function and chain invocations answered, by status', 'counter', () => this.requestSamples());
    scraped(r, 'roam_request_duration_seconds', 'Time to answer a function or chain invocation at the gateway (queueing included)', 'histogram', () =>
      this.requestRows().flatMap((s) => histogramSamples('roam_request_duration_seconds', { kind: s.kind, name: s.name }, SECONDS_BUCKETS, s.time.counts, s.time.sum)));
    scraped(r, 'roam_function_calls_total', 'Function invocations (each chain hop counts)', 'counter', () => all().map((s) => ({ labels: { function: s.fn, tenant: s.tenant }, value: s.calls })));
    scraped(r, 'roam_function_errors_total', 'Function invocations that failed, by error code', 'counter', () =>
      all().flatMap((s) => [...s.errors.entries()].map(([code, n]) => ({ labels: { function: s.fn, tenant: s.tenant, code }, value: n }))));
    scraped(r, 'roam_function_fuel_total', 'Fuel used by function invocations', 'counter', () => all().map((s) => ({ labels: { function: s.fn, tenant: s.tenant }, value: s.fuel })));
    scraped(r, 'roam_function_duration_seconds', 'Time inside the function (worker side)', 'histogram', () =>
      [...this.times.values()].flatMap((t) => histogramSamples('roam_function_duration_seconds', { function: t.fn }, FN_BUCKETS, t.buckets.counts, t.buckets.sum)));
    scraped(r, 'roam_tenant_queue_depth', 'Runs waiting in the fair scheduler per tenant', 'gauge', () =>
      capRows(Object.entries(collectQueues()), ([, n]) => [OTHER, n] as [string, number], (o, [, n]) => void (o[1] += n)).map(([tenant, n]) => ({ labels: { tenant }, value: n })));
  }

  /** Counts one answered HTTP request (any route, any status). No allocation. */
  countHttp(route: Route, status: number): void {
    const i = ROUTES.indexOf(route);
    this.http[i]![status >= 100 && status <= 599 ? status - 100 : 400]!++; // an out-of-range status was sent as 500
  }

  private httpSamples(): Sample[] {
    const out: Sample[] = [];
    ROUTES.forEach((route, i) => {
      const a = this.http[i]!;
      for (let s = 0; s < a.length; s++) if (a[s]! > 0) out.push({ labels: { route, code: String(s + 100) }, value: a[s]! });
    });
    return out;
  }

  private requestRows(): RequestSeries[] {
    return [...this.requests.fn.values(), ...this.requests.chain.values()];
  }

  private requestSamples(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.requestRows()) for (let i = 0; i < s.byStatus.length; i++) if (s.byStatus[i]! > 0) out.push({ labels: { kind: s.kind, name: s.name, code: String(i + 100) }, value: s.byStatus[i]! });
    return out;
  }

  private time(fn: string): TimeHist {
    let t = this.times.get(fn);
    if (t) return t;
    if (this.times.size >= MAX_SERIES) return this.time(OTHER);
    this.times.set(fn, (t = { fn, buckets: new Buckets(FN_BUCKETS), ewma: NaN }));
    return t;
  }

  private seriesOf(fn: string, tenant: string): Series {
    const key = `${fn}\0${tenant}`;
    let s = this.series.get(key);
    if (s) return s;
    if (this.series.size >= MAX_SERIES) return this.seriesOf(OTHER, OTHER);
    this.series.set(key, (s = { fn, tenant, calls: 0, fuel: 0, errors: new CodeCounts(), time: this.time(fn) }));
    return s;
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
      t.buckets.observe(ms / 1000);
      t.ewma = Number.isNaN(t.ewma) ? ms : t.ewma * 0.9 + ms * 0.1;
      if (hops[i + 3] === 0 && failedCode) s.errors.inc(failedCode);
    }
  }

  recordFailure(fn: string, tenant: string, code: string): void {
    this.seriesOf(fn, tenant).errors.inc(code);
  }

  /** One invocation of a deployed function or chain `name` answered with `status`. */
  recordRequest(kind: 'fn' | 'chain', name: string, status: number, seconds: number): void {
    const m = this.requests[kind];
    let s = m.get(name);
    if (!s) {
      if (m.size >= MAX_SERIES) name = OTHER;
      s = m.get(name);
      if (!s) m.set(name, (s = { kind, name, time: new Buckets(SECONDS_BUCKETS), byStatus: new Float64Array(500) }));
    }
    s.time.observe(seconds);
    s.byStatus[status >= 100 && status <= 599 ? status - 100 : 400]!++;
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
