// Tenant fairness and caps: the scheduler with real promises, and caps enforced by a real gateway.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pool, request } from 'undici';
import { ChargeModel } from '../engine/tenancy/charge.ts';
import { FairScheduler } from '../engine/tenancy/scheduler.ts';
import { TenantTable } from '../engine/tenancy/tenants.ts';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { buildFixture, variant } from './http-fixtures.ts';

/** A job that finishes when the test says so, recording the order jobs started in. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { run: () => (log.push(name), p), open };
}

describe('fair scheduler', () => {
  it("gives backlogged tenants shares that follow their weights 6:1:2", async () => {
    const tenants = new TenantTable([{ name: 'a', weight: 6 }, { name: 'b', weight: 1 }, { name: 'c', weight: 2 }]);
    const s = new FairScheduler(1, tenants);
    const started: string[] = [];
    const gates: Array<() => void> = [];
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      for (const t of ['a', 'b', 'c']) {
        const g = gate(started, t);
        gates.push(g.open);
        all.push(s.submit(t, 1, g.run));
      }
    }
    // Release one job at a time: capacity 1 means exactly one runs; record who went first 180 times.
    while (started.length < 180) {
      const before = started.length;
      for (const open of gates) open();
      await new Promise((r) => setImmediate(r));
      if (started.length === before) break;
    }
    const first = started.slice(0, 180);
    const share = (t: string) => first.filter((x) => x === t).length / first.length;
    expect(share('a')).toBeCloseTo(6 / 9, 1);
    expect(share('b')).toBeCloseTo(1 / 9, 1);
    expect(share('c')).toBeCloseTo(2 / 9, 1);
    for (const open of gates) open();
    await Promise.all(all);
  });

  it('charges what runs actually cost: at equal weights, a tenant whose runs cost 3x the estimate gets a quarter of the runs', async () => {
    const tenants = new TenantTable([{ name: 'heavy', weight: 1 }, { name: 'light', weight: 1 }]);
    const s = new FairScheduler(1, tenants);
    const started: string[] = [];
    const all: Promise<unknown>[] = [];
    // Both estimate 1 ms; heavy's runs report 3 ms. Jobs finish at once (no timing involved).
    for (let i = 0; i < 200; i++) {
      all.push(s.submit('heavy', 1, async () => (started.push('heavy'), 3), (ms) => ms));
      all.push(s.submit('light', 1, async () => (started.push('light'), 1), (ms) => ms));
    }
    await Promise.all(all);
    const first = started.slice(0, 160);
    const heavy = first.filter((x) => x === 'heavy').length / first.length;
    expect(heavy).toBeGreaterThan(0.2);
    expect(heavy).toBeLessThan(0.3);
    const st = s.stats();
    expect(st.heavy!.workMs).toBe(600);
    expect(st.light!.workMs).toBe(200);
  });

  it('never runs more of a tenant at once than its concurrency cap', async () => {
    const tenants = new TenantTable([{ name: 'capped', maxConcurrency: 2 }, { name: 'free' }]);
    const s = new FairScheduler(8, tenants);
    const log: string[] = [];
    const jobs = Array.from({ length: 6 }, () => gate(log, 'capped'));
    const free = Array.from({ length: 3 }, () => gate(log, 'free'));
    const done = [...jobs.map((g) => s.submit('capped', 1, g.run)), ...free.map((g) => s.submit('free', 1, g.run))];
    await new Promise((r) => setImmediate(r));
    expect(s.stats().capped).toMatchObject({ inFlight: 2, queued: 4 });
    expect(s.stats().free).toMatchObject({ inFlight: 3, queued: 0 });
    jobs[0]!.open();
    await new Promise((r) => setImmediate(r));
    expect(s.stats().capped).toMatchObject({ inFlight: 2, queued: 3, completed: 1 });
    for (const g of [...jobs, ...free]) g.open();
    await Promise.all(done);
  });

  it('admits a run to go at once (the inline fast path) only when submit would dispatch it at once', async () => {
    const s = new FairScheduler(1, new TenantTable([{ name: 'a' }, { name: 'b' }]));
    const log: string[] = [];
    const a = s.admitNow('a', 1)!;
    expect(a).not.toBeNull();
    expect(s.stats().a).toMatchObject({ inFlight: 1 });
    expect(s.admitNow('b', 1)).toBeNull(); // capacity 1 is taken
    const g = gate(log, 'b');
    const queued = s.submit('b', 1, g.run);
    s.settleNow(a, 2); // frees the place: the queued run goes now
    expect(log).toEqual(['b']);
    expect(s.admitNow('a', 1)).toBeNull(); // b holds the capacity
    g.open();
    await queued;
    // A run waiting in a queue is never overtaken: with one queued, nothing is admitted at once.
    const g2 = gate(log, 'b');
    const g3 = gate(log, 'b');
    const p2 = s.submit('b', 1, g2.run);
    const p3 = s.submit('b', 1, g3.run);
    expect(s.admitNow('a', 1)).toBeNull();
    g2.open();
    g3.open();
    await Promise.all([p2, p3]);
    expect(s.stats().a).toMatchObject({ inFlight: 0, completed: 1, workMs: 2 });
    // A tenant at its concurrency cap is not admitted; another is.
    const c = new FairScheduler(2, new TenantTable([{ name: 'capped', maxConcurrency: 1 }, { name: 'free' }]));
    const first = c.admitNow('capped', 1)!;
    expect(c.admitNow('capped', 1)).toBeNull();
    c.settleNow(c.admitNow('free', 1)!, null);
    c.settleNow(first, null);
    expect(c.stats().capped).toMatchObject({ inFlight: 0, completed: 1, workMs: 1 });
  });

  it('charges a run admitted at once what it cost, as a submitted one: the tenant after a 3 ms inline run waits its turn', async () => {
    const s = new FairScheduler(1, new TenantTable([{ name: 'heavy' }, { name: 'light' }]));
    const started: string[] = [];
    const heavyRun = s.admitNow('heavy', 1)!;
    s.settleNow(heavyRun, 3); // estimated 1 ms, cost 3 ms: heavy's finish moves to 3
    const hold = gate(started, 'light');
    const held = s.submit('light', 1, hold.run); // runs (light's finish 1), the others queue behind it
    const both = [s.submit('heavy', 1, async () => void started.push('heavy')), s.submit('light', 1, async () => void started.push('light'))];
    hold.open();
    await Promise.all([held, ...both]);
    expect(started).toEqual(['light', 'light', 'heavy']);
    expect(s.stats().heavy).toMatchObject({ completed: 2, workMs: 4 });
  });

  it('refuses work beyond a tenant queue cap with E_OVERLOAD', async () => {
    const s = new FairScheduler(1, new TenantTable([{ name: 't', maxQueue: 2 }]));
    const log: string[] = [];
    const g = gate(log, 't');
    const a = s.submit('t', 1, g.run); // runs
    const b = s.submit('t', 1, g.run); // queued
    const c = s.submit('t', 1, g.run); // queued
    await expect(s.submit('t', 1, g.run)).rejects.toMatchObject({ code: 'E_OVERLOAD' });
    g.open();
    await Promise.all([a, b, c]);
    expect(s.stats().t).toMatchObject({ completed: 3, rejected: 1 });
  });
});

describe('charge model (what a run is billed)', () => {
  const hop = (fn: number, fuel: number, ms: number) => [fn, fuel, ms, 1];
  it('bills measured guest time, but cuts off a pause that the hop\'s fuel does not explain', () => {
    const m = new ChargeModel();
    const fns = ['f'];
    // 100 hops of 1000 fuel at 0.002 ms teach the rate; then one hop is paused by the OS for 15 ms.
    const warm = new Float64Array(Array.from({ length: 100 }, () => hop(0, 1000, 0.002)).flat());
    expect(m.bill(fns, warm)).toBeCloseTo(0.2, 6);
    const paused = m.bill(fns, new Float64Array(hop(0, 1000, 15)))!;
    expect(paused).toBeLessThan(0.1);
    expect(paused).toBeGreaterThan(0.002);
  });

  it('bills an expensive hop in full when its fuel says so, and follows a function that really got slower', () => {
    const m = new ChargeModel();
    const fns = ['f', 'g'];
    m.bill(fns, new Float64Array(Array.from({ length: 50 }, () => hop(0, 1000, 0.002)).flat()));
    // 1000x the fuel, 1000x the time: nothing cut.
    expect(m.bill(fns, new Float64Array(hop(0, 1_000_000, 2)))).toBeCloseTo(2, 6);
    // f now takes 10x as long per fuel (a slow host call, say): after a few dozen hops it is billed in full.
    let last = 0;
    for (let i = 0; i < 40; i++) last = m.bill(fns, new Float64Array(hop(0, 1000, 0.02)))!;
    expect(last).toBeCloseTo(0.02, 6);
    // rates are per function: g's first hop is billed as measured.
    expect(m.bill(fns, new Float64Array(hop(1, 10, 3)))).toBe(3);
    // hops without fuel (remote, failed at entry) as measured; no log, no bill.
    expect(m.bill(fns, new Float64Array(hop(0, 0, 7)))).toBe(7);
    expect(m.bill(fns, null)).toBeNull();
  });
});

describe('throughput shares at a real gateway under overload', () => {
  let gw: Gateway;
  let url: string;
  const tenants = ['gold', 'bronze', 'silver'];
  const weights = [6, 1, 2];
  beforeAll(async () => {
    const fnkit = await buildFixture('test/fixtures/fnkit');
    // One worker, so the worker (not this process's HTTP work, which runs client and server) is what runs out.
    gw = await createGateway({ token: 'adm', threads: 1, maxHops: 1000, logger: silentLogger, tenants: new TenantTable(tenants.map((name, i) => ({ name, weight: weights[i]! }))) });
    url = await gw.listen(0);
    for (const t of tenants) {
      // The same code for every tenant: a request is 200 hops of `exclaim`, so throughput shares are worker-time shares.
      const b = variant(fnkit, { name: `kit-${t}`, tenant: t, functions: [{ name: `${t}.ex`, export: 'exclaim' }] });
      const put = await request(`${url}/v1/bundles/kit-${t}`, { method: 'PUT', body: b, headers: { authorization: 'Bearer adm' } });
      expect(put.statusCode, await put.body.text()).toBe(201);
      const ch = await request(`${url}/v1/chains/${t}`, { method: 'PUT', body: JSON.stringify({ steps: Array.from({ length: 200 }, () => `${t}.ex`) }), headers: { authorization: 'Bearer adm' } });
      expect(ch.statusCode, await ch.body.text()).toBe(201);
    }
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('gives each backlogged tenant completions that follow its weight 6:1:2', async () => {
    const stats = () => gw.scheduler.stats();
    const total = () => tenants.reduce((a, t) => a + (stats()[t]?.completed ?? 0), 0);
    let stop = false;
    let failures = 0;
    const pools = tenants.map(() => new Pool(url, { connections: 32 }));
    // 32 requests always outstanding per tenant, far more than one worker serves: every tenant backlogged.
    const loops = tenants.flatMap((t, i) =>
      Array.from({ length: 32 }, async () => {
        while (!stop) {
          const r = await pools[i]!.request({ path: `/chain/${t}/`, method: 'POST', body: 'x' });
          const text = await r.body.text();
          if (r.statusCode !== 200 || text !== 'x' + '!'.repeat(200)) failures++;
        }
      }),
    );
    // Counted by completions, not time: skip the first 100, then measure over the next 900.
    await vi.waitFor(() => expect(total()).toBeGreaterThanOrEqual(100), { timeout: 60_000, interval: 20 });
    const a = stats();
    await vi.waitFor(() => expect(total()).toBeGreaterThanOrEqual(1000), { timeout: 120_000, interval: 20 });
    const b = stats();
    stop = true;
    await Promise.all(loops);
    await Promise.all(pools.map((p) => p.close()));
    expect(failures).toBe(0);
    const done = tenants.map((t) => b[t]!.completed - a[t]!.completed);
    const sum = done.reduce((x, y) => x + y, 0);
    const share = done.map((d) => d / sum);
    const backlogged = tenants.map((t) => (b[t]!.backlogged - a[t]!.backlogged) / (b[t]!.decisions - a[t]!.decisions));
    const info = JSON.stringify({ share, backlogged });
    // every tenant had a run waiting at (nearly) every scheduling decision of the window
    for (const x of backlogged) expect(x, info).toBeGreaterThan(0.9);
    // the goal: each share within 10 % of its weight's 66.7 / 11.1 / 22.2 %
    weights.forEach((w, i) => {
      expect(share[i], info).toBeGreaterThan((0.9 * w) / 9);
      expect(share[i], info).toBeLessThan((1.1 * w) / 9);
    });
  }, 180_000);
});

describe('tenant caps at the gateway', () => {
  let gw: Gateway;
  let url: string;
  let fnkit: Uint8Array;
  const put = async (name: string, body: Uint8Array, token = 'adm') => {
    const r = await request(`${url}/v1/bundles/${name}`, { method: 'PUT', body, headers: { authorization: `Bearer ${token}` } });
    return { status: r.statusCode, json: (await r.body.json()) as { error?: string; message?: string } };
  };
  beforeAll(async () => {
    fnkit = await buildFixture('test/fixtures/fnkit');
    gw = await createGateway({
      token: 'adm',
      threads: 1,
      logger: silentLogger,
      tenants: new TenantTable([
        { name: 'small', maxMemoryMiB: 5 },
        { name: 'busy', maxConcurrency: 1, maxQueue: 1 },
      ]),
    });
    url = await gw.listen(0);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("refuses a deploy that would take a tenant's reserved memory past its cap (403)", async () => {
    const small = (name: string, fn: string) => variant(fnkit, { name, tenant: 'small', limits: { memoryPages: 48, fuel: 1000 }, functions: [{ name: fn, export: 'echo' }] });
    expect((await put('s1', small('s1', 'e1'))).status).toBe(201); // 3 MiB × 1 worker
    const r = await put('s2', small('s2', 'e2')); // 6 MiB > 5
    expect(r.status).toBe(403);
    expect(r.json.error).toBe('E_QUOTA');
    expect(r.json.message).toMatch(/over its cap of 5 MiB/);
  });

  it('answers 429 beyond what a tenant may run and queue, and serves the rest', async () => {
    const busy = variant(fnkit, { name: 'busykit', tenant: 'busy', functions: [{ name: 'bspin', export: 'spin' }] });
    expect((await put('busykit', busy)).status).toBe(201);
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const r = await request(`${url}/fn/bspin/`, { method: 'POST' });
        await r.body.dump();
        return r.statusCode;
      }),
    );
    // one runs, one waits, the rest are refused while they do (spin burns its whole fuel: 500)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 500).length).toBeGreaterThanOrEqual(2);
    expect(statuses.every((s) => s === 429 || s === 500)).toBe(true);
    expect(gw.scheduler.stats().busy!.rejected).toBe(statuses.filter((s) => s === 429).length);
  });
});
