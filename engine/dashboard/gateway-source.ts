/** The HTTP gateway's part of the dashboard: its bundles, tenants, GPU functions and chains (what /v1/stats has). */
import type { Registry as PromRegistry } from 'prom-client';
import type { Registry } from '../server/registry.ts';
import type { FairScheduler } from '../tenancy/scheduler.ts';
import type { TenantTable } from '../tenancy/tenants.ts';
import { gpuStatsForServer } from '../gpu/metrics.ts';
import type { BundleRow, ChainSample, DashboardSource, GpuSample, TenantSample } from './source.ts';

export interface GatewayParts {
  registry: Registry;
  scheduler: FairScheduler;
  tenants: TenantTable;
  /** The gateway's Prometheus registry: per-function time comes from `roam_function_duration_seconds`. */
  metrics: PromRegistry;
}

export function gatewaySource(g: GatewayParts): DashboardSource {
  return {
    bundles() {
      return g.registry.list().map((b): BundleRow => ({
        name: b.name,
        version: b.manifest.version,
        hash: b.ref.hash,
        tenant: b.manifest.tenant,
        kind: b.component ? 'component' : b.manifest.handlers.length ? (b.manifest.functions.length ? 'handlers and functions' : 'handlers') : 'functions',
        functions: b.manifest.functions.map((f) => f.name),
        handlers: b.manifest.handlers.map((h) => h.name),
        where: b.component ? 'host (component worker)' : b.manifest.functions.length ? 'host workers' : 'not called yet',
        deployedAt: Date.parse(b.deployedAt),
      }));
    },
    tenants() {
      const stats = g.scheduler.stats();
      const names = new Set([...Object.keys(stats), ...g.tenants.all.map((t) => t.name)]);
      return [...names].map((name): TenantSample => {
        const s = stats[name];
        return { name, weight: g.tenants.get(name).weight, workMs: s?.workMs ?? 0, completed: s?.completed ?? 0, rejected: s?.rejected ?? 0, queued: s?.queued ?? 0, inFlight: s?.inFlight ?? 0 };
      });
    },
    async gpu() {
      const v = await gpuStatsForServer(null);
      return (v?.functions ?? []).map((f): GpuSample => ({ id: f.id, tenant: f.id.split('/')[0] ?? 'default', share: f.share, achievedShare: f.achievedShare, memoryBytes: f.memoryBytes, memoryCapBytes: f.memoryCapBytes }));
    },
    async chains() {
      const chains = g.registry.listChains();
      if (chains.length === 0) return [];
      const times = await functionTimes(g.metrics);
      return chains.map(([route, spec]): ChainSample => ({
        route,
        tenant: g.registry.chainTenant(spec),
        steps: spec.steps.map((fn) => ({ fn, calls: times.get(fn)?.calls ?? 0, sumMs: times.get(fn)?.sumMs ?? 0 })),
      }));
    },
  };
}

/** Cumulative calls and time per function, read from the scraped histogram (no hook on the hop path). */
async function functionTimes(reg: PromRegistry): Promise<Map<string, { calls: number; sumMs: number }>> {
  const out = new Map<string, { calls: number; sumMs: number }>();
  const m = reg.getSingleMetric('roam_function_duration_seconds');
  if (!m) return out;
  const { values } = await m.get();
  for (const v of values as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>) {
    const fn = String(v.labels.function);
    const t = out.get(fn) ?? { calls: 0, sumMs: 0 };
    if (v.metricName?.endsWith('_sum')) t.sumMs = v.value * 1000;
    else if (v.metricName?.endsWith('_count')) t.calls = v.value;
    else continue;
    out.set(fn, t);
  }
  return out;
}
