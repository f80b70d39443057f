/**
 * The dashboard's sampler: every 250 ms while at least one page is connected, it reads its sources'
 * counters (source.ts), derives rates, p50/p99 over the last second, shares and per-hop times from the
 * differences, and pushes one tick to every stream, filtered per tenant. Nothing runs while no page is
 * open; the engine's hot paths only bump counters (engine/places/latency.ts, steering's placed counts).
 */
import { LATENCY_BUCKETS, quantileMs } from '../places/latency.ts';
import type { BundleRow, ChainSample, DashboardSource, GpuSample, HandlerSample, PlaceSample, ShiftSample, TenantSample } from './source.ts';
import { log as engineLog } from '../observe/log.ts';

export const TICK_MS = 250;
/** p50/p99 over this many ticks (1 s). */
const QUANTILE_TICKS = 4;
/** Tenant shares and chain hop times over this many ticks (5 s). */
const SHARE_TICKS = 20;
/** History a newly opened page gets: 5 minutes of place and steering series. */
const HISTORY_TICKS = 1200;

export interface PlaceRow { name: string; rate: number; p50: number | null; p99: number | null; queue: number; available: boolean; tenant?: string; clients?: number }
export interface HandlerRow { key: string; name: string; tenant: string; current: string | null; rate: number; shares: Record<string, number> | null }
export interface TenantRow { name: string; weight: number; share: number | null; fair: number | null; queued: number; inFlight: number; completed: number; rejected: number }
export interface ChainRow { route: string; tenant: string; hops: Array<{ fn: string; ms: number | null }> }

/** One sample of everything, as a page receives it. */
export interface Tick {
  t: number;
  places: PlaceRow[];
  handlers: HandlerRow[];
  /** Shifts completed since the previous tick. */
  shifts: ShiftSample[];
  /** null when unchanged since the previous tick (a page keeps what it has; `hello` carries the current list). */
  bundles: BundleRow[] | null;
  tenants: TenantRow[];
  gpu: GpuSample[];
  chains: ChainRow[];
}

/** A stream's sink: the HTTP layer (http.ts) writes what it gets. */
export interface Subscriber {
  /** null: the admin, who sees every row; else only this tenant's. */
  tenant: string | null;
  send(event: string, json: string): void;
}

type Ring<T> = T[];
const push = <T>(r: Ring<T>, v: T, max: number) => {
  r.push(v);
  if (r.length > max) r.shift();
};

export class Dashboard {
  private readonly sources: DashboardSource[] = [];
  private readonly subs = new Set<Subscriber>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastGpu: GpuSample[] = [];
  private lastChains: ChainSample[] = [];
  private bundleSig = '';
  private currentBundles: BundleRow[] = [];
  private readonly failures = new Set<string>();
  private readonly history: Tick[] = [];
  private readonly shiftLog: ShiftSample[] = [];
  private lastShift = 0;
  // Previous samples (rings of cumulative counters) for the differences.
  private readonly placeHist = new Map<string, Ring<{ t: number; messages: number; latency: Float64Array | null }>>();
  private readonly handlerPrev = new Map<string, Record<string, number>>();
  private readonly tenantHist: Ring<{ t: number; work: Map<string, number> }> = [];
  private readonly fnHist: Ring<Map<string, { calls: number; sumMs: number }>> = [];

  /** Adds a source (the gateway's, the wire server's); their rows are merged. */
  add(source: DashboardSource): void {
    this.sources.push(source);
  }

  get subscribers(): number {
    return this.subs.size;
  }

  /** A page connected: it gets the history now and a tick every 250 ms until `unsubscribe`. */
  subscribe(s: Subscriber): void {
    this.subs.add(s);
    const mine = <T extends { tenant: string }>(xs: T[]) => xs.filter((x) => s.tenant === null || x.tenant === s.tenant);
    s.send('hello', JSON.stringify({ tenant: s.tenant, tickMs: TICK_MS, history: this.history.map((t) => view(t, s.tenant)), shifts: mine(this.shiftLog), bundles: mine(this.currentBundles) }));
    if (!this.timer) {
      for (const src of this.sources) src.watch?.(true);
      this.timer = setInterval(() => this.tickSafely(), TICK_MS);
      this.timer.unref();
      this.tickSafely();
    }
  }

  unsubscribe(s: Subscriber): void {
    this.subs.delete(s);
    if (this.subs.size === 0) this.stop();
  }

  close(): void {
    this.subs.clear();
    this.stop();
  }

  private stop(): void {
    if (this.timer) for (const src of this.sources) src.watch?.(false);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A source that throws costs its tick, never the process (an unhandled rejection would end it); each
   *  distinct failure is reported once. */
  private tickSafely(): void {
    this.tick().catch((e: unknown) => {
      const msg = (e as Error)?.message ?? String(e);
      if (this.failures.has(msg)) return;
      this.failures.add(msg);
      engineLog('warn', 'dashboard: a tick failed', { message: msg });
    });
  }

  /** Samples every source once and pushes the tick (one at a time: a slow gpu answer skips a tick). */
  async tick(): Promise<Tick | null> {
    if (this.running) return null;
    this.running = true;
    try {
      const t = Date.now();
      const all = <T>(f: (s: DashboardSource) => T[] | undefined) => this.sources.flatMap((s) => f(s) ?? []);
      // An answer that does not come within a tick (a busy gpu service) is skipped: last tick's stands.
      const [gpu, chains] = await Promise.all([
        within(Promise.all(this.sources.map((s) => s.gpu?.() ?? [])).then((x) => x.flat()), TICK_MS, this.lastGpu),
        within(Promise.all(this.sources.map((s) => s.chains?.() ?? [])).then((x) => x.flat()), TICK_MS, this.lastChains),
      ]);
      this.lastGpu = gpu;
      this.lastChains = chains;
      const fresh = all((s) => s.shifts?.(this.lastShift));
      for (const x of fresh) this.lastShift = Math.max(this.lastShift, x.movedAt);
      const handlers = this.handlers(t, all((s) => s.handlers?.()));
      const shifts = fresh;
      for (const x of shifts) push(this.shiftLog, x, 256);
      const tick: Tick = {
        t,
        places: this.places(t, all((s) => s.places?.())),
        handlers,
        shifts,
        bundles: this.changedBundles(this.bundles(all((s) => s.bundles?.()), this.sources.flatMap((s) => (s.where ? [...s.where()] : [])))),
        tenants: this.tenants(t, all((s) => s.tenants?.())),
        gpu,
        chains: this.chains(chains),
      };
      push(this.history, { ...tick, bundles: null, tenants: [], chains: [], shifts: [] }, HISTORY_TICKS);
      this.publish(tick);
      return tick;
    } finally {
      this.running = false;
    }
  }

  private publish(tick: Tick): void {
    // One JSON text per audience (the admin, each tenant), however many pages each has open.
    const texts = new Map<string | null, string>();
    for (const s of this.subs) {
      let text = texts.get(s.tenant);
      if (text === undefined) texts.set(s.tenant, (text = JSON.stringify(view(tick, s.tenant))));
      s.send('tick', text);
    }
  }

  /** The rows when they differ from the last tick's, else null: a server with hundreds of bundles sends
   *  its table on a change, not 4 times a second. */
  private changedBundles(rows: BundleRow[]): BundleRow[] | null {
    const sig = JSON.stringify(rows);
    if (sig === this.bundleSig) return null;
    this.bundleSig = sig;
    this.currentBundles = rows;
    return rows;
  }

  /** Bundle rows with where their handlers run now (the wire side knows, the registry does not). */
  private bundles(rows: BundleRow[], where: Array<[string, string]>): BundleRow[] {
    if (where.length === 0) return rows;
    const at = new Map(where);
    return rows.map((b) => (at.has(b.name) ? { ...b, where: b.functions.length ? `${at.get(b.name)} · functions on host workers` : at.get(b.name)! } : b));
  }

  private places(t: number, samples: PlaceSample[]): PlaceRow[] {
    return samples.map((p) => {
      // A tenant's own client row and the machine-wide one share a name, not a history.
      const key = p.tenant === undefined ? p.name : `${p.name}\0${p.tenant}`;
      let ring = this.placeHist.get(key);
      if (!ring) this.placeHist.set(key, (ring = []));
      const latency = p.latency ? Float64Array.from(p.latency) : null;
      const prev = ring[ring.length - 1];
      const old = ring[0];
      push(ring, { t, messages: p.messages, latency }, QUANTILE_TICKS);
      // A reported place (the client's) gets its counts every 250 ms out of phase with the ticks, so a tick
      // would see two reports or none: its rate is over the last second, as its quantiles are.
      const base = p.clients !== undefined ? old : prev;
      const rate = base && t > base.t ? (Math.max(0, p.messages - base.messages) * 1000) / (t - base.t) : 0;
      let p50: number | null = null, p99: number | null = null;
      if (latency && old?.latency) {
        const d = new Float64Array(LATENCY_BUCKETS);
        for (let i = 0; i < d.length; i++) d[i] = Math.max(0, latency[i]! - old.latency[i]!);
        const a = quantileMs(d, 0.5), b = quantileMs(d, 0.99);
        p50 = Number.isNaN(a) ? null : a;
        p99 = Number.isNaN(b) ? null : b;
      }
      return { name: p.name, rate, p50, p99, queue: p.queue, available: p.available, ...(p.tenant !== undefined ? { tenant: p.tenant } : {}), ...(p.clients !== undefined ? { clients: p.clients } : {}) };
    });
  }

  private handlers(t: number, samples: HandlerSample[]): HandlerRow[] {
    const dt = this.history.length ? t - this.history[this.history.length - 1]!.t : 0;
    return samples.map((h) => {
      const prev = this.handlerPrev.get(h.key) ?? {};
      this.handlerPrev.set(h.key, h.placed);
      const d: Record<string, number> = {};
      let n = 0;
      for (const [place, c] of Object.entries(h.placed)) n += d[place] = Math.max(0, c - (prev[place] ?? 0));
      const shares = n > 0 && dt > 0 ? Object.fromEntries(Object.entries(d).map(([p, c]) => [p, c / n])) : null;
      return { key: h.key, name: h.name, tenant: h.tenant, current: h.current, rate: dt > 0 ? (n * 1000) / dt : 0, shares };
    });
  }

  private tenants(t: number, samples: TenantSample[]): TenantRow[] {
    const work = new Map(samples.map((s) => [s.name, s.workMs]));
    const old = this.tenantHist[0];
    push(this.tenantHist, { t, work }, SHARE_TICKS);
    const d = new Map(samples.map((s) => [s.name, old ? Math.max(0, s.workMs - (old.work.get(s.name) ?? 0)) : 0]));
    const total = [...d.values()].reduce((a, b) => a + b, 0);
    const active = samples.filter((s) => d.get(s.name)! > 0);
    const weights = active.reduce((a, s) => a + s.weight, 0);
    return samples.map((s) => ({
      name: s.name, weight: s.weight, queued: s.queued, inFlight: s.inFlight, completed: s.completed, rejected: s.rejected,
      share: total > 0 ? d.get(s.name)! / total : null,
      fair: total > 0 && d.get(s.name)! > 0 ? s.weight / weights : null,
    }));
  }

  private chains(samples: ChainSample[]): ChainRow[] {
    const now = new Map<string, { calls: number; sumMs: number }>();
    for (const c of samples) for (const s of c.steps) now.set(s.fn, s);
    const old = this.fnHist[0];
    push(this.fnHist, now, SHARE_TICKS);
    const hopMs = (fn: string) => {
      const a = now.get(fn)!, b = old?.get(fn);
      // The last 5 s when the function ran then, else its mean since start.
      if (b && a.calls > b.calls) return (a.sumMs - b.sumMs) / (a.calls - b.calls);
      return a.calls > 0 ? a.sumMs / a.calls : null;
    };
    return samples.map((c) => ({ route: c.route, tenant: c.tenant, hops: c.steps.map((s) => ({ fn: s.fn, ms: hopMs(s.fn) })) }));
  }
}

/** What one audience may see: the admin every machine-wide row; a tenant its own rows (its clients' client
 *  place) and no machine-wide place totals. */
export function view(t: Tick, tenant: string | null): Tick {
  if (tenant === null) return t.places.some((p) => p.tenant !== undefined) ? { ...t, places: t.places.filter((p) => p.tenant === undefined) } : t;
  const mine = <T extends { tenant: string }>(xs: T[]) => xs.filter((x) => x.tenant === tenant);
  return { t: t.t, places: t.places.filter((p) => p.tenant === tenant), handlers: mine(t.handlers), shifts: mine(t.shifts), bundles: t.bundles && mine(t.bundles), tenants: t.tenants.filter((x) => x.name === tenant), gpu: mine(t.gpu), chains: mine(t.chains) };
}


/** `p`'s value, or `fallback` once `ms` have passed (p is then left to settle on its own). */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  p.catch(() => {}); // a late failure is dropped with the answer
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
