import type { PlaceSignals } from './signals.ts';
import { Steering, clientExtraMs, type SteeringOptions } from './policy.ts';

export type ClientSide = 'client' | 'server';
const ALPHA = 0.2;

/** What the client learns per handler from its own replies. */
interface Learned {
  serverMs: number;
  serverDone: number;
  clientMs: number;
  clientServiceMs: number;
  clientDone: number;
  /** Remote operations and bytes a message of this handler made at the client place (EWMA). */
  ops: number;
  bytes: number;
  clientRuns: number;
  /** The handler wrote server data when it ran at the client: auto keeps it where the data lives. */
  writes: boolean;
}

/**
 * Client-side steering between running a message here (client place, region accesses remote) and sending it
 * to the server (which steers further between host and dpu). Signals: reply time from the server (EWMA, which
 * includes host queueing), the local queue depth and service time, the round-trip time and the remote
 * operations and bytes a message of this handler needs here. Hysteresis and probing come from Steering.
 */
export class ClientSteering {
  readonly policy: Steering<ClientSide>;
  private readonly learned = new Map<string, Learned>();
  /** Round-trip time of one small request, ms (EWMA over every server reply of a remote operation). */
  rttMs = 0.1;

  constructor(opts: SteeringOptions = {}) {
    this.policy = new Steering<ClientSide>(opts);
  }

  private of(handler: string): Learned {
    let l = this.learned.get(handler);
    if (!l) this.learned.set(handler, (l = { serverMs: 0, serverDone: 0, clientMs: 0, clientServiceMs: 0, clientDone: 0, ops: 2, bytes: 128, clientRuns: 0, writes: false }));
    return l;
  }

  choose(handler: string, client: { available: boolean; queue: number; parallelism: number }, now = performance.now()): ClientSide {
    const l = this.of(handler);
    // Writes run where the data lives (and a client dying mid-write would leave a slot locked).
    if (l.writes) return 'server';
    const server: PlaceSignals = { available: true, queue: 0, parallelism: 1, sojournMs: l.serverMs, serviceMs: l.serverMs, busy: 0, lastDone: l.serverDone };
    // Before the client place has run this handler, its cost is what its remote operations would take.
    const guess = clientExtraMs(l.ops, l.bytes, this.rttMs);
    const local: PlaceSignals = {
      available: client.available,
      queue: client.queue,
      parallelism: client.parallelism,
      sojournMs: l.clientRuns ? l.clientMs : guess,
      serviceMs: l.clientRuns ? l.clientServiceMs : guess,
      busy: 0,
      lastDone: l.clientDone,
    };
    return this.policy.choose(handler, [{ name: 'server', signals: server }, { name: 'client', signals: local }], now) ?? 'server';
  }

  recordServer(handler: string, ms: number, now = performance.now()): void {
    const l = this.of(handler);
    l.serverMs = l.serverDone ? l.serverMs + ALPHA * (ms - l.serverMs) : ms;
    l.serverDone = now;
  }

  recordClient(handler: string, sojournMs: number, run: { ms: number; ops: number; bytes: number; writes?: number }, now = performance.now()): void {
    const l = this.of(handler);
    if (run.writes) l.writes = true;
    const first = l.clientRuns === 0;
    l.clientMs = first ? sojournMs : l.clientMs + ALPHA * (sojournMs - l.clientMs);
    l.clientServiceMs = first ? run.ms : l.clientServiceMs + ALPHA * (run.ms - l.clientServiceMs);
    l.ops = first ? run.ops : l.ops + ALPHA * (run.ops - l.ops);
    l.bytes = first ? run.bytes : l.bytes + ALPHA * (run.bytes - l.bytes);
    l.clientRuns++;
    l.clientDone = now;
  }

  /** Remote operations per message this handler made at the client place (EWMA), undefined before its first run there. */
  remoteOps(handler: string): number | undefined {
    const l = this.learned.get(handler);
    return l && l.clientRuns > 0 ? l.ops : undefined;
  }

  recordRtt(ms: number): void {
    this.rttMs += ALPHA * (ms - this.rttMs);
  }

  /** The side this handler currently runs on, and every switch so far (for stats and the demo). */
  current(handler: string): ClientSide | undefined {
    return this.policy.shifts.filter((s) => s.handler === handler).at(-1)?.to as ClientSide | undefined;
  }
}
