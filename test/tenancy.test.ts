// Tenant fairness and caps: the scheduler with real promises, and caps enforced by a real gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
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
