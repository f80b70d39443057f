/**
 * The client place as the server sees it: clients run client-place handlers in their own processes and
 * report what they ran over their authenticated wire connection (CLIENT_STATS, engine/wire/client-stats.ts).
 * This table adds each report's differences into running totals per tenant (null: the admin's connections)
 * and for all clients, so a connection that closes keeps its messages in the totals; its queue leaves with
 * it. Reports flow only while a dashboard watches (`watching`): the answer to a report says whether to go on,
 * and turning the watch on wakes every connection that has reported (one frame each).
 *
 * Bounds: a report ≤ MAX_REPORT_BYTES (the codec), at most one per MIN_INTERVAL_MS per connection, at most
 * MAX_CLIENTS connections tracked. A report past a bound is refused with an error reply (RoamError thrown to
 * the wire door) and not counted; the connection stays open and usable.
 */
import { RoamError } from '../errors.ts';
import { LatencyCounts } from '../places/latency.ts';
import { decodeClientReport, REPORT_MORE, REPORT_STOP } from '../wire/client-stats.ts';

export const MAX_CLIENTS = 1024;
export const MIN_INTERVAL_MS = 100;

/** Cumulative client-place counters (for all clients, or one tenant's). */
export interface ClientTotals {
  messages: number;
  errors: number;
  readonly latency: LatencyCounts;
}

interface Reporter {
  tenant: string | null;
  queue: number;
  last: number;
  wake: () => void;
}

export interface ClientSummary {
  /** Connections that have reported (a client place in use) and are open. */
  clients: number;
  messages: number;
  errors: number;
  queue: number;
  latency: Float64Array;
}

const totals = (): ClientTotals => ({ messages: 0, errors: 0, latency: new LatencyCounts() });

export class ClientReports {
  private readonly conns = new Map<object, Reporter>();
  private readonly byTenant = new Map<string | null, ClientTotals>();
  private readonly all = totals();
  private watched = false;
  /** Reports counted, and refused (malformed, too large, too frequent, too many clients). */
  reports = 0;
  refused = 0;

  /**
   * One report from connection `conn` acting for `tenant`, at `now` (ms); `wake` sends that connection a
   * wake-up frame. Returns the reply byte: REPORT_MORE while a dashboard watches, else REPORT_STOP.
   */
  report(conn: object, tenant: string | null, payload: Uint8Array, now: number, wake: () => void): number {
    let r = this.conns.get(conn);
    try {
      if (!r && this.conns.size >= MAX_CLIENTS) throw new RoamError('E_OVERLOAD', `${MAX_CLIENTS} clients report client-place stats already; this one is not counted`);
      if (r && now - r.last < MIN_INTERVAL_MS) throw new RoamError('E_OVERLOAD', `client stats reported ${(now - r.last).toFixed(0)} ms after the last one (at most one per ${MIN_INTERVAL_MS} ms); not counted`);
      const rep = decodeClientReport(payload);
      if (!r) this.conns.set(conn, (r = { tenant, queue: 0, last: now, wake }));
      r.last = now;
      r.queue = rep.queue;
      let t = this.byTenant.get(tenant);
      if (!t) this.byTenant.set(tenant, (t = totals()));
      for (const x of [t, this.all]) {
        x.messages += rep.messages;
        x.errors += rep.errors;
        for (let i = 0; i < rep.buckets.length; i++) x.latency.counts[rep.buckets[i]!]! += rep.counts[i]!;
      }
      this.reports++;
    } catch (e) {
      this.refused++;
      throw e;
    }
    return this.watched ? REPORT_MORE : REPORT_STOP;
  }

  /** The connection closed: its queue no longer counts (its messages stay in the totals). */
  drop(conn: object): void {
    this.conns.delete(conn);
  }

  /** A dashboard opened (true) or the last one closed (false). Opening wakes every reporting connection. */
  set watching(on: boolean) {
    if (on && !this.watched) for (const r of this.conns.values()) r.wake();
    this.watched = on;
  }

  get watching(): boolean {
    return this.watched;
  }

  /** Tenants (null: the admin's connections) that have reported since start. */
  tenants(): Array<string | null> {
    return [...this.byTenant.keys()];
  }

  /** Totals and open clients for one tenant, or for all clients when `tenant` is undefined. */
  summary(tenant?: string | null): ClientSummary {
    const t = tenant === undefined ? this.all : (this.byTenant.get(tenant) ?? totals());
    let clients = 0, queue = 0;
    for (const r of this.conns.values()) {
      if (tenant !== undefined && r.tenant !== tenant) continue;
      clients++;
      queue += r.queue;
    }
    return { clients, messages: t.messages, errors: t.errors, queue, latency: t.latency.counts };
  }
}
