// The live dashboard (/ui) in a real headless browser: Debian's chromium driven by playwright-core, against
// a real `roam serve` composition (gateway + wire server + DPU agent process) on a real port, with real
// traffic from a real client. Screenshots go to test-artifacts/dashboard/ (gitignored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serve } from '../engine/server/serve.ts';
import type { WireServer } from '../engine/server/wire-server.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { embedManifest, readBundle } from '../engine/bundle/bundle.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { shmAddon } from '../engine/shm/index.ts';
import net from 'node:net';
import { key, putMsg } from './places-helpers.ts';
import { FrameDecoder } from '../engine/wire/decoder.ts';
import { Kind, encodeFrame, parseError, type Frame } from '../engine/wire/frame.ts';
import { MAX_REPORT_BYTES } from '../engine/wire/client-stats.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'dashboard');
const ADMIN = 'admin-secret';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for the dashboard tests`);

describe.skipIf(!haveBrowser)('dashboard at /ui (skipped without Debian\'s chromium: apt-get install chromium)', () => {
  let browser: Browser;
  let wire: WireServer;
  const withDpu = !!shmAddon();
  let url: string;
  let close: () => Promise<void>;
  let client: Client;
  let kvShop: number;
  let hello: Uint8Array;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const kv = readBundle(await cachedBuild('functions/kv'));
    hello = await cachedBuild('functions/hello');
    const tenantsFile = join(tmpdir(), `roam-dash-tenants-${process.pid}.json`);
    writeFileSync(tenantsFile, JSON.stringify({ tenants: { shop: { weight: 3, token: 'shop-token' }, lab: { weight: 1, token: 'lab-token' } } }));
    let gateway: Awaited<ReturnType<typeof serve>>['gateway'];
    ({ url, close, wire, gateway } = await serve({ port: 0, host: '127.0.0.1', token: ADMIN, tenantsFile, wire: { workers: 2, dpu: withDpu, maxFrame: 1 << 20, inlineUs: 100, nativeIo: true } }));
    kvShop = (await gateway.registry.deploy(null, embedManifest(kv.bytes, { ...kv.manifest, name: 'kv-shop', tenant: 'shop' }), null, false)).wireId!;
    await gateway.registry.deploy(null, embedManifest(kv.bytes, { ...kv.manifest, name: 'kv-lab', tenant: 'lab' }), null, false);
    client = await connect(Number(new URL(url).port), { token: ADMIN });
    for (let i = 1; i <= 1000; i++) await client.sendRaw(kvShop, 2, Buffer.concat([key(i), Buffer.from('v')]), 'host');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    client?.close();
    // A preconnect socket chromium opened and never used is dropped after FIRST_BYTE_MS (shared-port.ts).
    await close?.();
  }, 30_000);

  /** A fresh tab (its own sessionStorage) on /ui, signed in with `token` when given. */
  async function open(token: string | null): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 1300 } })).newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${url}/ui`);
    await page.waitForSelector('body[data-state="locked"]');
    if (token !== null) {
      await page.fill('#token', token);
      await page.click('#login-form button');
      await page.waitForSelector('body[data-state="live"]');
    }
    return page;
  }

  /** kv gets from the client, `window` in flight, place auto, until `stop()`; slot-busy answers are retried. */
  function traffic(window = 32): { stop: () => Promise<number> } {
    let on = true, n = 0;
    const lanes = Array.from({ length: window }, async () => {
      while (on) {
        try {
          await client.sendRaw(kvShop, 1, key((n++ % 1000) + 1), 'auto');
        } catch (e) {
          if (!(e as Error).message.includes('slot busy')) throw e;
        }
      }
    });
    return { stop: async () => ((on = false), await Promise.all(lanes), n) };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  it('asks for a token, refuses a wrong one, and serves no stream without one', async () => {
    const anon = await fetch(`${url}/ui/stream`);
    expect(anon.status).toBe(401);
    expect((await anon.json()).error).toBe('E_UNAUTHORIZED');
    expect((await fetch(`${url}/ui/stream`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const page = await open(null);
    expect(await page.isVisible('#login')).toBe(true);
    expect(await page.isHidden('#board')).toBe(true);
    await page.fill('#token', 'wrong-token');
    await page.click('#login-form button');
    await page.waitForFunction(() => document.getElementById('login-error')!.textContent!.includes('refused'));
    expect(await page.evaluate(() => sessionStorage.getItem('roam.token'))).toBeNull();
    await shot(page, 'refused');
    await page.close();
  });

  it('answers bad dashboard requests with a clear error and keeps serving', async () => {
    expect((await fetch(`${url}/ui/nope.js`)).status).toBe(404);
    const post = await fetch(`${url}/ui/stream`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(post.status).toBe(405);
    expect((await post.json()).message).toMatch(/GET only/);
    const page = await fetch(`${url}/ui`);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(await page.text()).toMatch(/<title>roam · live<\/title>/);
  });

  it('shows each place\'s messages/s, p50 and p99 as chart points once traffic flows', async () => {
    const page = await open(ADMIN);
    const load = traffic();
    // Traffic runs on host workers and the network thread (inline lane): both rows get points.
    await page.waitForFunction(() => {
      const d = (window as any).roamDashboard;
      const pts = (k: string, p: string) => d.series(k, p).filter((v: number | null) => v !== null && v > 0).length;
      return pts('rate', 'inline') + pts('rate', 'host') >= 8 && pts('p99', 'inline') + pts('p99', 'host') >= 4;
    }, undefined, { timeout: 20_000 });
    await load.stop();
    const rows = await page.$$eval('#places-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-place')));
    expect(rows).toEqual(expect.arrayContaining(['host', 'inline', ...(withDpu ? ['dpu'] : [])]));
    await shot(page, 'places');
    await page.close();
  }, 60_000);

  it.skipIf(!shmAddon())('marks the shift to the dpu in the steering timeline within 1 s of forced congestion', async () => {
    const page = await open(ADMIN);
    const load = traffic(16);
    await page.waitForFunction(() => (window as any).roamDashboard.ticks >= 6, undefined, { timeout: 30_000 });
    // Before: steering keeps the handler at the host and has not moved it for 300 ms (on a loaded machine
    // the traffic alone may congest the host; a handler already at the dpu cannot shift there again).
    const key = [...wire.steering.handlers()].find(([k]) => Math.floor(Number(k) / 65536) === kvShop && (Number(k) & 0xffff) === 1)![0];
    const settled = () => {
      const at = (wire.steering.handlers() as Iterable<[string | number, { current: string | undefined }]>);
      const cur = [...at].find(([k]) => k === key)![1].current;
      const last = wire.steering.shifts.filter((x) => x.handler === key).at(-1);
      return cur === 'host' && (!last || performance.now() - last.at > 300);
    };
    for (const until = Date.now() + 20_000; !settled(); ) {
      if (Date.now() > until) throw new Error('steering never settled at the host before the congestion');
      await new Promise((r) => setTimeout(r, 20));
    }
    const congestedAt = Date.now();
    wire.host.setLoad(0.95); // host workers held 95 % of each 10 ms (engine/places/background-load.ts)
    try {
      // On the page: the shift to the dpu that followed the congestion, marked.
      const handle = await page.waitForFunction((at) => (window as any).roamDashboard.shifts.find((x: any) => x.to === 'dpu' && x.movedAt >= at - 20), congestedAt, { timeout: 20_000 });
      const seenAt = Date.now();
      const shift = await handle.jsonValue() as { from: string; to: string; onset: number; movedAt: number; ms: number; handler: string };
      expect(shift).toMatchObject({ from: 'host', to: 'dpu', handler: 'kv-shop/get' });
      expect(shift.ms).toBeGreaterThanOrEqual(0);
      // The engine's own record: the first shift to the dpu after the congestion, within 1 s of it.
      const first = wire.steering.moves.map((m) => ({ ...m, movedAt: performance.timeOrigin + m.movedAt })).find((m) => m.to === 'dpu' && m.movedAt >= congestedAt - 20);
      const decisions = wire.steering.shifts.filter((x) => x.handler === key).map((x) => `${x.from}→${x.to}@${(performance.timeOrigin + x.at - congestedAt).toFixed(0)}`);
      const moves = wire.steering.moves.map((m) => `${m.handler} ${m.from}→${m.to}@${(performance.timeOrigin + m.movedAt - congestedAt).toFixed(0)}`);
      expect(first, `no shift to the dpu in Steering.moves after the congestion; decisions ${decisions.join(' ')}; moves ${moves.join(' ')}`).toBeDefined();
      expect(first!.movedAt - congestedAt).toBeLessThan(1000);
      console.log(`dashboard: shift host→dpu ${first!.ms.toFixed(1)} ms after the stall onset, ${(first!.movedAt - congestedAt).toFixed(0)} ms after setLoad; marked on the page ${seenAt - congestedAt} ms after setLoad`);
      const marked = await page.$$eval('#shifts li[data-shift="kv-shop/get"]', (lis) => lis.map((li) => li.textContent));
      expect(marked.some((t) => /host → dpu: [\d.]+ ms from congestion/.test(t!))).toBe(true);
      // Let the timeline draw the moved share, then keep it as the artifact.
      await page.waitForFunction(() => (window as any).roamDashboard.steering('kv-shop/get')?.dpu?.some((v: number | null) => v !== null && v > 80));
      await shot(page, 'shift');
    } finally {
      wire.host.setLoad(0);
      await load.stop();
      await page.close();
    }
  }, 60_000);

  it('shows a deploy in the bundle table without a reload', async () => {
    const page = await open(ADMIN);
    await page.evaluate(() => ((window as any).sameDocument = true));
    expect(await page.$('tr[data-bundle="hello"]')).toBeNull();
    const r = await fetch(`${url}/v1/bundles/hello`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}` }, body: new Blob([Buffer.from(hello)]) });
    expect(r.status).toBe(201);
    await page.waitForSelector('tr[data-bundle="hello"]', { timeout: 15_000 }).catch(async (e) => {
      await shot(page, 'deploy-failed');
      throw e;
    });
    expect(await page.evaluate(() => (window as any).sameDocument)).toBe(true);
    const row = await page.textContent('tr[data-bundle="hello"]');
    expect(row).toContain((await r.json()).hash.slice(0, 12));
    await shot(page, 'deploy');
    await page.close();
  });

  it('shows a tenant token its own rows only, in the page and in the stream itself', async () => {
    const page = await open('shop-token');
    await page.waitForSelector('tr[data-bundle="kv-shop"]');
    const bundles = await page.$$eval('#bundles-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-bundle')));
    expect(bundles).toEqual(['kv-shop']);
    expect(await page.textContent('#scope')).toBe('tenant shop');
    expect(await page.isVisible('#places-note')).toBe(true);
    await shot(page, 'tenant');
    await page.close();
    // The server filters, not the page: read the raw stream with the other tenant's token.
    const ctl = new AbortController();
    const res = await fetch(`${url}/ui/stream`, { headers: { authorization: 'Bearer lab-token' }, signal: ctl.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!/event: tick\ndata: .*\n\n/.test(text)) text += (await reader.read()).value;
    ctl.abort();
    const hello = JSON.parse(/event: hello\ndata: (.*)\n\n/.exec(text)![1]!);
    const tick = JSON.parse(/event: tick\ndata: (.*)\n\n/.exec(text)![1]!);
    expect(hello.bundles.map((b: { name: string }) => b.name)).toEqual(['kv-lab']); // ticks carry bundles when they change
    expect((tick.bundles ?? hello.bundles).map((b: { name: string }) => b.name)).toEqual(['kv-lab']);
    expect(tick.places).toEqual([]);
    expect(tick.tenants.map((t: { name: string }) => t.name)).toEqual(['lab']);
    expect(text).not.toContain('kv-shop');
  });

  /** /v1/stats' clientPlace part as `token` sees it. */
  const clientStats = async (token: string) => (await (await fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${token}` } })).json()).clientPlace;
  /** Reads a tenant's raw stream until its first tick. */
  async function firstTick(token: string): Promise<{ text: string; tick: any }> {
    const ctl = new AbortController();
    const res = await fetch(`${url}/ui/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!/event: tick\ndata: .*\n\n/.test(text)) text += (await reader.read()).value;
    ctl.abort();
    return { text, tick: JSON.parse(/event: tick\ndata: (.*)\n\n/.exec(text)![1]!) };
  }

  it('fills the client place row from clients running messages at their client place, each tenant seeing its own clients only', async () => {
    const port = Number(new URL(url).port);
    const page = await open(ADMIN);
    const shop = await connect(port, { token: 'shop-token' });
    const lab = await connect(port, { token: 'lab-token' });
    let on = true, n = 0;
    let lane: Promise<void> = Promise.resolve();
    try {
      await lab.send('kv-lab/put', putMsg(1, 'lab'), { place: 'host' });
      expect(Buffer.from(await lab.send('kv-lab/get', key(1), { place: 'client' })).toString()).toBe('lab'); // lab's one client-place message
      // shop: kv gets run in this process (a worker thread), each region read one wire request to the server.
      lane = (async () => {
        while (on) {
          await shop.send('kv-shop/get', key((n % 1000) + 1), { place: 'client' });
          n++;
        }
      })();
      // shop's first message fetches the bundle and starts the worker (seconds at load): wait for its stride.
      while (n < 20) await new Promise((r) => setTimeout(r, 20));
      await page.waitForFunction(() => {
        const d = (window as any).roamDashboard;
        const row = document.querySelector('tr[data-place="client"]')?.textContent ?? '';
        // The admin sees every client: shop's and lab's connections.
        return row.includes('(2 connections)') && d.series('rate', 'client').filter((v: number | null) => v !== null && v > 0).length >= 4 && d.series('p99', 'client').some((v: number | null) => v !== null && v > 0);
      }, undefined, { timeout: 30_000 });
      await shot(page, 'client-place');
      // A tenant's page: its own clients' row, with the traffic.
      const shopPage = await open('shop-token');
      await shopPage.waitForFunction(() => (window as any).roamDashboard.series('rate', 'client').some((v: number | null) => v !== null && v > 0), undefined, { timeout: 20_000 });
      expect(await shopPage.$$eval('#places-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-place')))).toEqual(['client']);
      expect(await shopPage.textContent('tr[data-place="client"]')).toMatch(/client \(1 connection\)/);
      await shot(shopPage, 'client-place-tenant');
      await shopPage.close();
      // The other tenant's stream, raw: its one client and nothing of shop's.
      const { text, tick } = await firstTick('lab-token');
      expect(tick.places.map((p: { name: string; tenant: string; clients: number }) => [p.name, p.tenant, p.clients])).toEqual([['client', 'lab', 1]]);
      expect(text).not.toContain('shop');
    } finally {
      on = false;
      await lane;
    }
    // Every message is in /v1/stats once the last report (at most 250 ms later, a page still open) is in.
    for (const until = Date.now() + 10_000; (await clientStats('shop-token')).messages !== n; ) {
      if (Date.now() > until) throw new Error(`shop's client place ran ${n} messages; /v1/stats says ${(await clientStats('shop-token')).messages}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await clientStats('shop-token')).toMatchObject({ clients: 1, messages: n, errors: 0 });
    expect((await clientStats('shop-token')).p99Ms).toBeGreaterThan(0);
    expect(await clientStats('lab-token')).toMatchObject({ clients: 1, messages: 1, errors: 0 });
    expect(await clientStats(ADMIN)).toMatchObject({ clients: 2, messages: n + 1 });
    shop.close();
    lab.close();
    await page.close();
  }, 90_000);

  it('refuses a bad client report with an error reply on a connection it keeps, and the page streams on', async () => {
    const page = await open(ADMIN);
    const refused = (await clientStats(ADMIN)).refused;
    const s = net.connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const frames: Frame[] = [];
    let got: () => void = () => {};
    const d = new FrameDecoder(1 << 20, { frame: (f) => (frames.push({ ...f, payload: Buffer.from(f.payload) }), got()), oversize: () => {}, corrupt: () => {} });
    s.on('data', (c) => d.push(c));
    const f = (kind: number, id: number, payload: Uint8Array) => encodeFrame({ kind, place: 0, flags: 0, id, bundle: 0, code: 0 }, payload);
    s.write(Buffer.concat([
      f(Kind.AUTH, 1, Buffer.from('shop-token')),
      f(Kind.CLIENT_STATS, 2, Buffer.alloc(MAX_REPORT_BYTES + 1)),
      f(Kind.CLIENT_STATS, 3, Buffer.from('not a report')),
      f(Kind.RESOLVE, 4, Buffer.from('kv-shop')),
    ]));
    while (frames.length < 4) await new Promise<void>((r) => (got = r));
    const byId = new Map(frames.map((x) => [x.id, x]));
    expect(parseError(byId.get(2)!.payload).code).toBe('E_TOO_LARGE');
    expect(parseError(byId.get(3)!.payload)).toMatchObject({ code: 'E_FRAME' });
    expect(byId.get(4)!.kind).toBe(Kind.REPLY); // the connection serves on
    s.destroy();
    // Without a token a report gets E_UNAUTHORIZED and the connection is closed, as any frame would.
    const anon = net.connect(Number(new URL(url).port), '127.0.0.1');
    const anonFrames: Frame[] = [];
    const ad = new FrameDecoder(1 << 20, { frame: (x) => anonFrames.push({ ...x, payload: Buffer.from(x.payload) }), oversize: () => {}, corrupt: () => {} });
    anon.on('data', (c) => ad.push(c));
    const closed = new Promise((r) => anon.once('close', r));
    anon.end(f(Kind.CLIENT_STATS, 9, Buffer.alloc(14)));
    await closed;
    expect(parseError(anonFrames[0]!.payload).code).toBe('E_UNAUTHORIZED');
    expect((await clientStats(ADMIN)).refused).toBe(refused + 2);
    const ticks = await page.evaluate(() => (window as any).roamDashboard.ticks);
    await page.waitForFunction((t) => (window as any).roamDashboard.ticks >= t + 2, ticks);
    await page.close();
  });

  it('passes axe-core accessibility checks with no serious or critical violations', async () => {
    const page = await open(ADMIN);
    await page.waitForFunction(() => (window as any).roamDashboard.ticks >= 2);
    // Evaluated, not a <script> tag: the page's CSP (script-src 'self') rightly refuses inline scripts.
    await page.evaluate(readFileSync(join(import.meta.dirname, '..', 'node_modules/axe-core/axe.min.js'), 'utf8'));
    const result = await page.evaluate(() => (window as any).axe.run(document, { resultTypes: ['violations'] }));
    const bad = (result.violations as Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} ${(n as any).failureSummary}`).join(', ')}`)).toEqual([]);
    await shot(page, 'axe');
    await page.close();
  });
});

describe.skipIf(!haveBrowser || !shmAddon())('roam demo --ui', () => {
  it('prints the dashboard URL, shows the shift to the dpu as it happens, and keeps serving until SIGTERM', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin/roam.js'), 'demo', '--ui', '--seconds', '4', '--window', '64', '--wait', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c) => {
          out += c;
          const m = /dashboard at (http:\/\/\S+\/ui)/.exec(out);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`roam demo exited with ${code}: ${err}`)));
      });
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 1300 } })).newPage();
      await page.goto(url);
      await page.waitForSelector('body[data-state="live"]'); // no token given: the page streams at once
      // The run starts once the page streams (its header line is printed then); the host becomes busy 2 s in.
      const runStart = await new Promise<number>((resolve) => {
        const check = () => (/YCSB-B zipfian/.test(out) ? resolve(Date.now()) : child.stdout.once('data', check));
        check();
      });
      await new Promise<void>((resolve) => {
        const check = () => (/still serving the dashboard/.test(out) ? resolve() : child.stdout.once('data', check));
        check();
      });
      // The timeline holds the move: kv/get's share at the dpu above 80 % in the second half of the run,
      // and shifts host → dpu are marked.
      const shifts = await page.evaluate(() => (window as any).roamDashboard.shifts) as Array<{ from: string; to: string; movedAt: number; handler: string }>;
      expect(shifts.filter((s) => s.from === 'host' && s.to === 'dpu'), JSON.stringify(shifts)).not.toHaveLength(0);
      const late = await page.evaluate((from) => {
        const d = (window as any).roamDashboard;
        const t = d.times as number[];
        return ((d.steering('kv/get')?.dpu ?? []) as Array<number | null>).filter((v, i) => v !== null && t[i]! * 1000 > from && v > 80).length;
      }, runStart + 2000);
      expect(late).toBeGreaterThan(0);
      expect(await page.$$eval('#shifts li', (lis) => lis.map((li) => li.textContent))).toEqual(expect.arrayContaining([expect.stringMatching(/kv\/(get|put) host → dpu: [\d.]+ ms/)]));
      await page.screenshot({ path: join(ARTIFACTS, 'demo-ui.png'), fullPage: true });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toMatch(/shift to dpu \(≥ 80 % of a 10 ms window\) \d+ ms after the host became busy/);
    } finally {
      await browser.close();
      child.kill('SIGKILL');
    }
  }, 120_000);
});
