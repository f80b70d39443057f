/** The wire server's part of the dashboard: places, per-handler steering, shifts, where each bundle's handlers run. */
import { performance } from 'node:perf_hooks';
import type { WireServer } from '../server/wire-server.ts';
import type { DashboardSource, HandlerSample, PlaceSample, ShiftSample } from './source.ts';

const epoch = (t: number) => performance.timeOrigin + t;

export function wireSource(ws: WireServer): DashboardSource {
  /** A steering key (bundle id × 65536 + handler type) as `bundle/handler` and its tenant. */
  const nameOf = (key: number) => {
    const b = ws.table.get(Math.floor(key / 65536));
    return { name: `${b?.manifest.name ?? '?'}/${b?.handlers.get(key % 65536)?.name ?? key % 65536}`, tenant: b?.tenant ?? 'default', bundle: b?.manifest.name ?? null };
  };
  return {
    places() {
      const s = ws.stats;
      const host = ws.host.signals();
      const out: PlaceSample[] = [
        { name: 'host', messages: s.byPlace.host - s.inline, latency: ws.host.latency.counts, queue: host.queue, available: host.available },
        { name: 'inline', messages: s.inline, latency: ws.host.inlineLatency.counts, queue: 0, available: ws.host.inline.enabled },
      ];
      if (ws.dpu) {
        const sig = ws.dpu.signals();
        out.push({ name: 'dpu', messages: s.byPlace.dpu, ...(ws.dpu.latency ? { latency: ws.dpu.latency.counts } : {}), queue: sig.queue, available: sig.available });
      }
      // The client place runs in the clients' processes: what their connections reported (CLIENT_STATS),
      // all of them for the admin, and each tenant's own for that tenant.
      const r = ws.clientReports;
      const row = (c: ReturnType<typeof r.summary>): PlaceSample => ({ name: 'client', messages: c.messages, latency: c.latency, queue: c.queue, available: c.clients > 0, clients: c.clients });
      out.push(row(r.summary()));
      for (const t of r.tenants()) if (t !== null) out.push({ ...row(r.summary(t)), tenant: t });
      return out;
    },
    handlers() {
      const inline = ws.host.inline.runsByHandler();
      const out: HandlerSample[] = [];
      const seen = new Set<number>();
      for (const [key, v] of ws.steering.handlers()) {
        const k = Number(key);
        const n = nameOf(k);
        if (n.bundle === null) continue; // removed since
        seen.add(k);
        const placed: Record<string, number> = { ...v.placed };
        // The inline lane runs most tiny messages before steering sees them (places/README.md).
        const inl = inline.get((Math.floor(k / 65536) << 16) | (k & 0xffff));
        if (inl) placed.inline = inl;
        out.push({ key: String(k), name: n.name, tenant: n.tenant, current: v.current ?? null, placed });
      }
      for (const [k, runs] of inline) {
        const key = (k >>> 16) * 65536 + (k & 0xffff);
        const n = nameOf(key);
        if (!seen.has(key) && n.bundle !== null) out.push({ key: String(key), name: n.name, tenant: n.tenant, current: 'inline', placed: { inline: runs } });
      }
      return out;
    },
    shifts(after) {
      const out: ShiftSample[] = [];
      for (const m of ws.steering.moves) {
        const movedAt = epoch(m.movedAt);
        if (movedAt <= after) continue;
        const k = Number(m.handler);
        const n = nameOf(k);
        out.push({ handlerKey: String(k), handler: n.name, tenant: n.tenant, from: m.from, to: m.to, onset: epoch(m.onset), movedAt, ms: m.ms });
      }
      return out;
    },
    watch(on) {
      ws.clientReports.watching = on;
    },
    where() {
      const byBundle = new Map<string, string[]>();
      for (const [key, v] of ws.steering.handlers()) {
        const n = nameOf(Number(key));
        if (n.bundle === null) continue;
        const list = byBundle.get(n.bundle) ?? [];
        list.push(`${n.name.slice(n.bundle.length + 1)}→${v.current ?? '?'}`);
        byBundle.set(n.bundle, list);
      }
      for (const [k] of ws.host.inline.runsByHandler()) {
        const n = nameOf((k >>> 16) * 65536 + (k & 0xffff));
        const short = n.name.slice((n.bundle?.length ?? 0) + 1);
        if (n.bundle === null || byBundle.get(n.bundle)?.some((x) => x.startsWith(`${short}→`))) continue;
        byBundle.set(n.bundle, [...(byBundle.get(n.bundle) ?? []), `${short}→inline`]);
      }
      return new Map([...byBundle].map(([b, xs]) => [b, xs.join(' ')]));
    },
  };
}
