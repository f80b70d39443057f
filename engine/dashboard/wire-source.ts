/** The wire server's part of the dashboard: places, per-handler steering, shifts, its bundles. */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { WireServer } from '../places/server.ts';
import type { Registered } from '../places/registry.ts';
import type { DashboardSource, HandlerSample, PlaceSample, ShiftSample, BundleRow } from './source.ts';

const epoch = (t: number) => performance.timeOrigin + t;

export function wireSource(ws: WireServer): DashboardSource {
  /** First time a bundle version was seen (the wire registry keeps no deploy time). */
  const seen = new WeakMap<Registered, { at: number; hash: string }>();
  const bundles = () => {
    const out: Registered[] = [];
    for (let i = 0; ws.registry.get(i); i++) out.push(ws.registry.get(i)!);
    return out;
  };
  const nameOf = (key: number) => {
    const b = ws.registry.get(Math.floor(key / 65536));
    return { name: `${b?.manifest.name ?? '?'}/${b?.handlers.get(key % 65536)?.name ?? key % 65536}`, tenant: b?.manifest.tenant ?? 'default' };
  };
  return {
    places() {
      const s = ws.stats;
      const out: PlaceSample[] = [
        { name: 'host', messages: s.byPlace.host - s.inline, latency: ws.host.latency.counts, queue: ws.host.signals().queue, available: ws.host.signals().available },
        { name: 'inline', messages: s.inline, latency: ws.host.inlineLatency.counts, queue: 0, available: ws.host.inline.enabled },
      ];
      if (ws.dpu) {
        const sig = ws.dpu.signals();
        out.push({ name: 'dpu', messages: s.byPlace.dpu, ...(ws.dpu.latency ? { latency: ws.dpu.latency.counts } : {}), queue: sig.queue, available: sig.available });
      }
      return out;
    },
    handlers() {
      const inline = ws.host.inline.runsByHandler();
      const out: HandlerSample[] = [];
      const keys = new Set<number>();
      for (const [key, v] of ws.steering.handlers()) {
        const k = Number(key);
        keys.add(k);
        const placed: Record<string, number> = { ...v.placed };
        // The inline lane runs most tiny messages before steering sees them (places/README.md).
        const inl = inline.get((Math.floor(k / 65536) << 16) | (k & 0xffff));
        if (inl) placed.inline = inl;
        out.push({ key: String(k), ...nameOf(k), current: v.current ?? null, placed });
      }
      for (const [k, n] of inline) {
        const key = (k >>> 16) * 65536 + (k & 0xffff);
        if (!keys.has(key)) out.push({ key: String(key), ...nameOf(key), current: 'inline', placed: { inline: n } });
      }
      return out;
    },
    shifts(after) {
      const out: ShiftSample[] = [];
      for (const m of ws.steering.moves) {
        const movedAt = epoch(m.movedAt);
        if (movedAt <= after) continue;
        const k = Number(m.handler);
        out.push({ handlerKey: String(k), ...named(nameOf(k)), from: m.from, to: m.to, onset: epoch(m.onset), movedAt, ms: m.ms });
      }
      return out;
    },
    bundles() {
      const steer = new Map([...ws.steering.handlers()].map(([k, v]) => [Number(k), v.current]));
      const now = Date.now();
      return bundles().map((b): BundleRow => {
        let first = seen.get(b);
        if (!first) seen.set(b, (first = { at: now, hash: createHash('sha256').update(b.bytes).digest('hex') }));
        const where = [...b.handlers.values()].map((h) => `${h.name}→${b.component ? 'host (component worker)' : steer.get(b.id * 65536 + h.type) ?? 'not called yet'}`).join(' ');
        return { name: b.manifest.name, version: b.manifest.version, hash: first.hash, tenant: b.manifest.tenant, kind: b.component ? 'handler component' : 'handlers', functions: [], handlers: [...b.handlers.values()].map((h) => h.name), where, deployedAt: first.at };
      });
    },
  };
}

const named = (n: { name: string; tenant: string }) => ({ handler: n.name, tenant: n.tenant });
