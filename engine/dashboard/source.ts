/**
 * What the dashboard reads: a narrow interface a server part implements with what it already counts.
 * Every method returns cumulative counters or current state, never a rate: the dashboard (dashboard.ts)
 * keeps the previous sample and derives messages/s, p50/p99 and shares from the difference, so a source
 * holds no per-dashboard state and costs nothing while no dashboard is open. Every method is optional:
 * the gateway implements bundles/tenants/gpu/chains (gateway-source.ts), the wire server places,
 * handlers, shifts and its bundles (wire-source.ts); the dashboard merges what its sources give.
 */

export interface PlaceSample {
  /** host (worker threads), inline (the network thread), dpu, client, … */
  name: string;
  /** Messages completed (or routed) there since start. */
  messages: number;
  /** Cumulative reply-time histogram (engine/places/latency.ts buckets), if the place keeps one. */
  latency?: ArrayLike<number>;
  /** Messages accepted and not yet replied. */
  queue: number;
  available: boolean;
  /** Absent: a machine-wide row (the admin's only). A tenant's name: that tenant's own row (the client
   *  place of its connections), shown to that tenant only. */
  tenant?: string;
  /** The client place: connections reporting now. */
  clients?: number;
}

export interface HandlerSample {
  /** Unique per source: the wire server's steering key. */
  key: string;
  /** `bundle/handler`. */
  name: string;
  tenant: string;
  /** Where steering sends it now. */
  current: string | null;
  /** Messages per place since start (cumulative). */
  placed: Record<string, number>;
}

export interface ShiftSample {
  handlerKey: string;
  handler: string;
  tenant: string;
  from: string;
  to: string;
  /** Epoch ms when the congestion began (the left place's stall onset) and when ≥ 80 % had moved. */
  onset: number;
  movedAt: number;
  /** movedAt − onset. */
  ms: number;
}

export interface BundleRow {
  name: string;
  version: string;
  hash: string;
  tenant: string;
  /** functions (HTTP), handlers (wire), component */
  kind: string;
  functions: string[];
  handlers: string[];
  /** Where each runs now, e.g. `host workers` or `get→dpu put→host`. */
  where: string;
  /** Epoch ms; for wire bundles the first time the dashboard saw this version (the registry keeps no time). */
  deployedAt: number | null;
}

export interface TenantSample {
  name: string;
  weight: number;
  /** Worker time charged so far (tenancy/scheduler.ts), ms: shares are its differences. */
  workMs: number;
  completed: number;
  rejected: number;
  queued: number;
  inFlight: number;
}

export interface GpuSample {
  id: string;
  tenant: string;
  share: number;
  achievedShare: number;
  memoryBytes: number;
  memoryCapBytes: number;
}

export interface ChainSample {
  route: string;
  tenant: string;
  /** Per step, the function's cumulative time and calls (its hops in any chain). */
  steps: Array<{ fn: string; calls: number; sumMs: number }>;
}

export interface DashboardSource {
  places?(): PlaceSample[];
  handlers?(): HandlerSample[];
  /** Shifts completed since `after` (epoch ms). */
  shifts?(after: number): ShiftSample[];
  bundles?(): BundleRow[];
  /** Where each bundle's handlers run now, by bundle name (`get→dpu put→host`): merged into the bundle rows. */
  where?(): Map<string, string>;
  tenants?(): TenantSample[];
  gpu?(): Promise<GpuSample[]>;
  chains?(): Promise<ChainSample[]>;
  /** A page opened (true) or the last one closed (false): a source whose data costs something to gather
   *  (the clients' reports) gathers it only while watched. */
  watch?(on: boolean): void;
}
