import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { bundleFile } from './helpers/build.ts';
import { servedUrl } from './helpers/cli.ts';

// Regression tests for the hardening issue: each is named after what broke.
describe('roam serve survives hostile connections', () => {
  let server: ChildProcess;
  let port = 0;
  let exited: number | null | undefined;

  beforeAll(async () => {
    server = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', '--threads', '1', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.on('exit', (code) => { exited = code; });
    port = Number(new URL(await servedUrl(server)).port);
  }, 60_000);
  afterAll(() => { server.kill('SIGTERM'); });

  /** Opens a connection and resolves once it is established, before any byte is sent. */
  function open(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  }

  async function healthz(): Promise<number> {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    await r.arrayBuffer();
    return r.status;
  }

  it('a connection reset before its first byte does not kill the server (ECONNRESET on the shared port)', async () => {
    const victims = await Promise.all(Array.from({ length: 20 }, open));
    expect(await healthz()).toBe(200); // every victim is accepted by now (accept order), none has sent a byte
    for (const s of victims) s.resetAndDestroy(); // SO_LINGER 0: an RST, which the server reads as ECONNRESET
    // A later connection is accepted and read after the resets reached the server (loopback delivers the RST
    // at once), so this answer means the server handled all twenty.
    expect(await healthz()).toBe(200);
    expect(await healthz()).toBe(200);
    expect(exited).toBeUndefined();
  });

  it('a connection reset after a partial HTTP request or wire frame does not kill the server', async () => {
    const http = await open();
    http.write('GET /heal');
    const wire = await open();
    wire.write(Buffer.from([0xb7, 0x01]));
    expect(await healthz()).toBe(200);
    http.resetAndDestroy();
    wire.resetAndDestroy();
    expect(await healthz()).toBe(200);
    expect(exited).toBeUndefined();
  });
});

describe('--state restore: every stored item is validated again', () => {
  it('skips a bad chain spec, a garbled bundle file and a truncated one with one warning each; the rest load (restore of a corrupt state directory)', async () => {
    const { createGateway } = await import('../engine/http/gateway.ts');
    const { buildFixture, variant } = await import('./http-fixtures.ts');
    const { mkdtempSync, readdirSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const fnkit = await buildFixture('test/fixtures/fnkit');
    const dir = mkdtempSync(join(tmpdir(), 'roam-state-bad-'));
    const warnings: Array<Record<string, unknown>> = [];
    const logger = (level: string, msg: string, fields?: Record<string, unknown>) => void (level === 'warn' && warnings.push({ msg, ...fields }));
    const first = await createGateway({ token: null, threads: 1, stateDir: dir, logger: () => {} });
    await first.registry.deploy('good', variant(fnkit, { name: 'good' }), null);
    await first.registry.deploy('trunc', variant(fnkit, { name: 'trunc', functions: [{ name: 'echo2', export: 'echo' }] }), null);
    first.registry.putChain('ok', { steps: ['echo'] });
    await first.close();
    // Corrupt what is on disk: a chain spec of the wrong type, one bundle file truncated, one garbled.
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    index.chains.bad = { steps: 5 };
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    const files = readdirSync(join(dir, 'bundles'));
    const nameOf = (f: string) => readFileSync(join(dir, 'bundles', f)).subarray(0, 200).toString('latin1');
    const truncFile = files.find((f) => nameOf(f).includes('"trunc"'))!;
    const whole = readFileSync(join(dir, 'bundles', truncFile));
    writeFileSync(join(dir, 'bundles', truncFile), whole.subarray(0, whole.length - 100));
    writeFileSync(join(dir, 'bundles', 'f'.repeat(64) + '.bundle'), 'not a roam bundle file at all');
    const again = await createGateway({ token: null, threads: 1, stateDir: dir, logger });
    try {
      expect(again.registry.list().map((b) => b.name)).toEqual(['good']);
      expect(again.registry.chain('ok')).toEqual({ steps: ['echo'] });
      expect(again.registry.chain('bad')).toBeNull();
      const items = warnings.map((w) => String(w.item));
      expect(items).toHaveLength(3);
      expect(items).toEqual(expect.arrayContaining([expect.stringContaining('ffff'), "bundle 'trunc'", "chain 'bad'"]));
    } finally {
      await again.close();
    }
  }, 60_000);
});

describe('region memory has bounds', () => {
  it('refuses regions past the tenant memory quota and past the server cap (huge regions were accepted)', async () => {
    const { createGateway } = await import('../engine/http/gateway.ts');
    const { TenantTable } = await import('../engine/tenancy/tenants.ts');
    const { variant } = await import('./http-fixtures.ts');
    const { kvBundle } = await import('./places-helpers.ts');
    const kv = await kvBundle();
    const regions = (size: number) => [{ name: 'table', size, access: 'rw' as const }];
    const gw = await createGateway({ token: null, threads: 1, logger: () => {}, maxRegionBytes: 64 << 20, tenants: new TenantTable([{ name: 'small', maxMemoryMiB: 64 }]) });
    try {
      // kv has only handlers: give it a function name so this gateway (no places) takes it.
      const fn = [{ name: 'noop', export: 'get' }];
      const huge = variant(kv, { name: 'huge', tenant: 'small', regions: regions(2 ** 32), functions: fn });
      await expect(gw.registry.deploy('huge', huge, 'small')).rejects.toMatchObject({ code: 'E_QUOTA', message: expect.stringMatching(/over its cap of 64 MiB|over this server's cap/) });
      await expect(gw.registry.deploy('huge', huge, null)).rejects.toMatchObject({ code: 'E_QUOTA', message: expect.stringMatching(/over this server's cap of 64 MiB/) });
      await gw.registry.deploy('a', variant(kv, { name: 'a', regions: regions(40 << 20), functions: [{ name: 'fa', export: 'get' }] }), null);
      await expect(gw.registry.deploy('b', variant(kv, { name: 'b', regions: regions(40 << 20), functions: [{ name: 'fb', export: 'get' }] }), null)).rejects.toMatchObject({ code: 'E_QUOTA' });
      gw.registry.remove('a', null);
      await gw.registry.deploy('b', variant(kv, { name: 'b', regions: regions(40 << 20), functions: [{ name: 'fb', export: 'get' }] }), null);
    } finally {
      await gw.close();
    }
  }, 60_000);
});

// Defect 3: 100 of 100 connections that never sent a byte were still open after 75 s; slow headers were
// closed only at ~70 s; nothing bounded how many one address could hold.
describe('roam serve bounds what idle and greedy connections hold', () => {
  let server: ChildProcess;
  let port = 0;
  /** The server's log (its stdout: JSON lines in a pipe, engine/observe/log.ts). */
  let log = '';

  beforeAll(async () => {
    server = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', '--threads', '1', '--workers', '1', '--first-byte-ms', '500', '--header-timeout-ms', '1000', '--max-per-address', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (c) => void (log += c));
    port = Number(new URL(await servedUrl(server)).port);
  }, 60_000);
  afterAll(() => {
    server.kill('SIGTERM');
  });

  /** Connects from `from` (any 127.x address is this host) once established. */
  function open(from = '127.0.0.1'): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
      s.once('error', reject);
    });
  }
  /** Resolves when the server has closed `s` (read what it sent: a paused socket never sees the end). */
  const closed = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : (s.once('close', () => r()), s.resume())));
  /** A keep-alive connection that has sent a complete request and got its answer: held, not idle-closed. */
  async function held(from: string): Promise<net.Socket> {
    const s = await open(from);
    s.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((r) => s.once('data', r));
    return s;
  }
  /** True when the server closes a new connection from `from` without answering its request; false once it answers. */
  const refused = async (from: string) => {
    const s = await open(from);
    s.on('error', () => {});
    s.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    const answered = await new Promise<boolean>((r) => {
      s.once('data', () => r(true));
      s.once('close', () => r(false));
    });
    s.destroy();
    return !answered;
  };

  it('closes connections that never send a byte after --first-byte-ms (0 of 30 left open) and logs it', async () => {
    const idle = await Promise.all(Array.from({ length: 3 }, (_, i) => Array.from({ length: 10 }, () => open(`127.0.1.${i + 1}`))).flat().map((p) => p.catch(() => null)));
    // Ten at a time per source address would pass the per-address bound; 3 addresses x 10 > 10 overall: some are refused at
    // accept, the rest close at the first-byte timeout. Either way none stays.
    await Promise.all(idle.map((s) => (s ? closed(s) : undefined)));
    expect(idle.filter((s) => s && !s.destroyed)).toHaveLength(0);
    expect(log).toMatch(/"level":"warn".*sent nothing for 500 ms \(--first-byte-ms\)/);
  });

  it('closes an HTTP request whose headers never complete after --header-timeout-ms', async () => {
    const s = await open('127.0.2.1');
    let answer = '';
    s.on('data', (c) => void (answer += c));
    s.write('GET /healthz HTTP/1.1\r\nx-slow: ');
    await closed(s);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  });

  it('refuses a connection past --max-per-address from that address only, and logs it once', async () => {
    const mine = await Promise.all([1, 2, 3, 4].map(() => held('127.0.3.1')));
    expect(await refused('127.0.3.1')).toBe(true);
    expect(await refused('127.0.3.1')).toBe(true);
    expect((await held('127.0.3.2')).destroy()).toBeTruthy(); // another address is served
    expect(log.match(/connection limit reached for 127\.0\.3\.1/g)).toHaveLength(1);
    for (const s of mine) s.destroy();
    await Promise.all(mine.map(closed));
  });

  it('refuses connections past --max-connections, and serves again once some close', async () => {
    // Its own server: connections the other tests closed may not be counted out yet (the server sees a close
    // and a later accept in either order).
    const own = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', '--threads', '1', '--workers', '1', '--max-connections', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let ownLog = '';
    own.stdout!.on('data', (c) => void (ownLog += c));
    const saved = port;
    port = Number(new URL(await servedUrl(own)).port);
    try {
      const all = await Promise.all(Array.from({ length: 10 }, (_, i) => held(`127.0.4.${1 + (i % 3)}`)));
      expect(await refused('127.0.4.4')).toBe(true);
      // The server writes its log lines once per event-loop turn (engine/observe/log.ts): wait for the line.
      await vi.waitFor(() => expect(ownLog).toMatch(/connection limit reached: 10 open \(--max-connections\)/), { timeout: 10_000, interval: 20 });
      all[0]!.destroy();
      while (await refused('127.0.4.4')); // served again once the server has counted that close
      for (const s of all) s.destroy();
      expect(own.exitCode).toBeNull();
    } finally {
      own.kill('SIGTERM');
      port = saved;
    }
  });
});


// Defects 7 and 8: a malformed escape answered 500 E_INTERNAL and logged an error line (open routes: anyone
// could fill the log); a guest's invalid header name answered 500 E_INTERNAL, naming nothing.
describe('roam serve answers bad paths and bad guest headers by name', () => {
  let server: ChildProcess;
  let url = '';
  let stdout = '';

  beforeAll(async () => {
    const hostile = await bundleFile('test/fixtures/hostile');
    server = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', '--threads', '1', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (c) => void (stdout += c));
    url = await servedUrl(server);
    const put = await fetch(`${url}/v1/bundles/hostile`, { method: 'PUT', body: readFileSync(hostile) });
    expect(put.status).toBe(201);
  }, 120_000);
  afterAll(() => {
    server.kill('SIGTERM');
  });

  it.each(['/fn/%zz', '/fn/a%', '/chain/%E0%A4%A', '/v1/bundles/%ff', '/fn/%C0%AF/x'])('answers a malformed percent-escape (%s) with 400 E_BAD_PATH and logs no error', async (path) => {
    const before = stdout;
    const r = await fetch(url + path);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toBe('E_BAD_PATH');
    expect(stdout.slice(before.length)).not.toMatch(/"level":"error"/);
  });

  it.each(['bad name', 'x\u00e9', ''])('answers a guest that sets an invalid header name (%j) with an error naming the function and the header', async (name) => {
    const r = await fetch(`${url}/fn/badheader`, { method: 'POST', body: name });
    const body = await r.json();
    expect(r.status).toBe(500);
    expect(body.error).toBe('E_BAD_HEADER');
    expect(body.message).toContain("function 'badheader'");
    expect(body.message).toContain(JSON.stringify(name));
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
