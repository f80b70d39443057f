/**
 * The wire front door, its places and steering in Prometheus terms, read from counters the server and
 * places keep anyway (stats, latency.ts histograms, steering's counts): nothing is added per message
 * but one array add per bundle and the service-time histogram's bucket bump (latency.ts, a few ns).
 *
 * `place` is host (the worker pool), inline (the network thread's lane, engine/places/README.md) or
 * dpu; bundle and tenant names are the routing table's (deployed bundles only), capped at MAX_SERIES.
 */
import type { Registry } from 'prom-client';
import { capRows, histogramSamples, OTHER, scraped, SECONDS_BUCKETS, type Sample } from '../observe/metrics.ts';
import { SHIFT_BUCKETS } from '../steering/policy.ts';
import { bucketRange, type LatencyCounts } from '../places/latency.ts';
import type { WireServer } from './wire-server.ts';

/**
 * A log-linear histogram (latency.ts) as Prometheus buckets: a `le` bucket counts the log-linear
 * buckets that end at or below it, so every count is exact for "≤ le" (a bucket straddling a bound
 * counts in the next one).
 */
export function latencySamples(name: string, labels: Record<string, string>, counts: ArrayLike<number>[]): Sample[] {
  const per = new Float64Array(SECONDS_BUCKETS.length + 1);
  let sum = 0;
  for (const c of counts) {
    for (let i = 0; i < c.length; i++) {
      const n = c[i]!;
      if (n === 0) continue;
      const [lo, hi] = bucketRange(i);
      let b = 0;
      while (b < SECONDS_BUCKETS.length && hi / 1e6 > SECONDS_BUCKETS[b]! + 1e-12) b++;
      per[b]! += n;
      sum += (n * (lo + hi)) / 2 / 1e6; // the bucket's midpoint: within 12.5 %, as the dashboard's quantiles
    }
  }
  return histogramSamples(name, labels, SECONDS_BUCKETS, per, sum);
}

interface PlaceRow {
  place: string;
  messages: number;
  queue: number;
  available: number;
  reply: LatencyCounts[];
  service: LatencyCounts[];
}

export function registerWireMetrics(r: Registry, ws: WireServer): void {
  const s = ws.stats;
  const places = (): PlaceRow[] => {
    const host = ws.host.signals();
    const rows: PlaceRow[] = [
      { place: 'host', messages: s.byPlace.host - s.inline, queue: host.queue, available: host.available ? 1 : 0, reply: [ws.host.latency], service: [ws.host.service] },
      { place: 'inline', messages: s.inline, queue: 0, available: ws.host.inline.enabled ? 1 : 0, reply: [ws.host.inlineLatency], service: [ws.host.inlineService] },
    ];
    if (ws.dpu) {
      const d = ws.dpu.signals();
      rows.push({ place: 'dpu', messages: s.byPlace.dpu, queue: d.queue, available: d.available ? 1 : 0, reply: ws.dpu.latency ? [ws.dpu.latency] : [], service: ws.dpu.service ? [ws.dpu.service] : [] });
    }
    return rows;
  };
  const perPlace = (name: string, help: string, type: 'counter' | 'gauge', value: (p: PlaceRow) => number) =>
    scraped(r, name, help, type, () => places().map((p) => ({ labels: { place: p.place }, value: value(p) })));
  perPlace('roam_place_messages_total', 'Handler messages sent to each place (inline: run on the network thread)', 'counter', (p) => p.messages);
  perPlace('roam_place_queue_depth', 'Messages accepted by the place and not yet answered', 'gauge', (p) => p.queue);
  perPlace('roam_place_available', 'Whether the place can take messages (1) or not (0)', 'gauge', (p) => p.available);
  scraped(r, 'roam_place_service_seconds', 'Handler run time at the place (no queueing)', 'histogram', () => places().flatMap((p) => latencySamples('roam_place_service_seconds', { place: p.place }, p.service.map((c) => c.counts))));
  scraped(r, 'roam_place_reply_seconds', 'Accept to reply time of a message at the place (queueing included)', 'histogram', () => places().flatMap((p) => latencySamples('roam_place_reply_seconds', { place: p.place }, p.reply.map((c) => c.counts))));

  const counter = (name: string, help: string, value: () => number) => scraped(r, name, help, 'counter', () => [{ labels: {}, value: value() }]);
  counter('roam_wire_messages_total', 'CALL frames received (and in-process dispatches)', () => s.calls);
  counter('roam_wire_connections_total', 'Binary-protocol connections accepted', () => s.connections);
  counter('roam_wire_connections_refused_total', 'Connections closed for want of a valid token', () => s.refused);
  counter('roam_wire_corrupt_frames_total', 'Connections closed on a corrupt frame', () => s.corrupt);
  counter('roam_wire_overflows_total', 'Connections closed because their unsent replies passed the cap (the peer was not reading)', () => s.overflows);
  counter('roam_wire_leases_broken_total', 'Seqlocks broken because their holder closed or its lease expired', () => s.leasesBroken);
  scraped(r, 'roam_wire_connections_open', 'Binary-protocol connections open now', 'gauge', () => [{ labels: {}, value: s.open }]);
  scraped(r, 'roam_wire_errors_total', 'ERROR frames sent, by code', 'counter', () => [...ws.errorCodes.entries()].map(([code, n]) => ({ labels: { code }, value: n })));

  const bundles = () => {
    const t = ws.table;
    const rows: Array<{ bundle: string; tenant: string; calls: number; errors: number }> = [];
    for (let id = 0; id < t.calls.length; id++) {
      const b = t.get(id);
      if (b) rows.push({ bundle: b.manifest.name, tenant: b.tenant, calls: t.calls[id]!, errors: t.errors[id]! });
    }
    return capRows(rows, (x) => ({ ...x, bundle: OTHER, tenant: OTHER }), (o, x) => ((o.calls += x.calls), (o.errors += x.errors)));
  };
  scraped(r, 'roam_handler_messages_total', 'Messages for a deployed bundle\'s handlers at the wire front door', 'counter', () => bundles().map((b) => ({ labels: { bundle: b.bundle, tenant: b.tenant }, value: b.calls })));
  scraped(r, 'roam_handler_errors_total', 'Error replies for a deployed bundle\'s messages', 'counter', () => bundles().map((b) => ({ labels: { bundle: b.bundle, tenant: b.tenant }, value: b.errors })));

  const st = ws.steering;
  scraped(r, 'roam_steering_decisions_total', 'Messages steering placed, by the place it chose (probes included)', 'counter', () => {
    const by = new Map<string, number>();
    for (const [, h] of st.handlers()) for (const [p, n] of Object.entries(h.placed)) by.set(p, (by.get(p) ?? 0) + n);
    return [...by].map(([place, n]) => ({ labels: { place }, value: n }));
  });
  counter('roam_steering_switches_total', 'Times steering moved a handler to another place', () => st.switches);
  scraped(r, 'roam_steering_shifts_total', 'Completed shifts: a move off a congested place that most of the handler\'s messages followed', 'counter', () =>
    [...st.shiftCounts].map(([k, n]) => {
      const [from, to] = k.split('>') as [string, string];
      return { labels: { from, to }, value: n };
    }));
  scraped(r, 'roam_steering_shift_seconds', 'Time from congestion onset until 80 % of the handler\'s messages ran at the new place', 'histogram', () =>
    histogramSamples('roam_steering_shift_seconds', {}, SHIFT_BUCKETS, st.shiftSeconds.counts, st.shiftSeconds.sum));
}
