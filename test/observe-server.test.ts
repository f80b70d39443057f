// /metrics and the logs of a real `roam serve` after real traffic: HTTP functions, 404s for many distinct bad
// paths, wire messages at the host and the dpu, a refused oversize message. The exposition is checked by
// `promtool check metrics` (Debian's prometheus package) and against the conventions directly; stdout, read
// through a pipe, must be JSON lines only, guest log lines included with their bundle, function and tenant.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../engine/client/index.ts';
import { shmAddon } from '../engine/shm/index.ts';
import { bundleFile, ROOT } from './helpers/build.ts';

const promtool = spawnSync('promtool', ['--version']).status === 0;
const dpu = shmAddon() !== null;
const BAD_PATHS = 150;

let server: ChildProcessWithoutNullStreams;
let url = '';
let stdout = '';
let exposition = '';
const exited = () => new Promise<number | null>((res) => (server.exitCode !== null ? res(server.exitCode) : server.once('exit', res)));

beforeAll(async () => {
  const file = await bundleFile('functions/hello');
  const env = { ...process.env };
  delete env.ROAM_LOG_FORMAT;
  server = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--no-auth', '--port', '0', '--workers', '1', '--bundle', file, ...(dpu ? ['--dpu'] : [])], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  server.stdout.setEncoding('utf8');
  url = await new Promise<string>((resolve, reject) => {
    server.stdout.on('data', (c: string) => {
      stdout += c;
      const m = /"url":"(http:\/\/[^"]+)"/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    server.once('exit', (code) => reject(new Error(`roam serve exited ${code}: ${stdout}`)));
  });

  // HTTP: a function that logs, then refusals with distinct free-text paths (none may become a label value).
  for (let i = 0; i < 5; i++) expect((await fetch(`${url}/fn/greet/ada${i}`)).status).toBe(200);
  for (let i = 0; i < BAD_PATHS; i++) {
    expect((await fetch(`${url}/nope-${i}/x`)).status).toBe(404);
    expect((await fetch(`${url}/fn/missing-${i}`)).status).toBe(404);
  }
  // The wire front door: steered, pinned to the host, pinned to the dpu, and one refused (over the 16 KiB message limit).
  const c = await connect(url.replace('http', 'roam'), { clientPlace: false });
  try {
    for (let i = 0; i < 64; i++) expect(Buffer.from(await c.send('hello/hello', Buffer.from(`a${i}`))).toString()).toBe(`hello, a${i}`);
    for (let i = 0; i < 4; i++) await c.send('hello/hello', Buffer.from('h'), { place: 'host' });
    if (dpu) for (let i = 0; i < 4; i++) await c.send('hello/hello', Buffer.from('d'), { place: 'dpu' });
    await expect(c.send('hello/hello', new Uint8Array(20_000), { place: 'host' })).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
    expect(Buffer.from(await c.send('hello/hello', Buffer.from('after'))).toString()).toBe('hello, after'); // still serving
  } finally {
    c.close();
  }
  exposition = await (await fetch(`${url}/metrics`)).text();
}, 240_000);

afterAll(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
});

/** name → { type, help, samples: [name, labels, value] } from the text format. */
function families(text: string) {
  const fams = new Map<string, { type?: string; help?: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }>();
  const fam = (n: string) => fams.get(n) ?? fams.set(n, { samples: [] }).get(n)!;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line))) {
      if (m[1] === 'TYPE') fam(m[2]!).type = m[3];
      else fam(m[2]!).help = m[3];
    } else if ((m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line))) {
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
      const base = fams.has(m[1]!) ? m[1]! : m[1]!.replace(/_(bucket|sum|count)$/, '');
      fam(base).samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    } else expect(line, 'a line that is neither a comment nor a sample').toBe('');
  }
  return fams;
}
const value = (fams: ReturnType<typeof families>, name: string, labels: Record<string, string>) =>
  (fams.get(name) ?? fams.get(name.replace(/_(bucket|sum|count)$/, '')))?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('a real server\'s /metrics after real traffic', () => {
  // Skipped only where promtool is absent, never under CI (.ci/run installs it), with one line naming the package.
  it.skipIf(!promtool && !process.env.CI)(`passes promtool check metrics${promtool ? '' : ' (skipped: no promtool; apt-get install prometheus)'}`, () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    expect(r.error, 'promtool is missing: install Debian\'s prometheus package').toBeUndefined();
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('follows the conventions: HELP and TYPE everywhere, counters end in _total, histograms have le buckets, units in names', () => {
    const fams = families(exposition);
    expect(fams.size).toBeGreaterThan(30);
    for (const [name, f] of fams) {
      expect(f.help, `${name} has HELP`).toBeTruthy();
      expect(f.type, `${name} has TYPE`).toMatch(/^(counter|gauge|histogram)$/);
      expect(name.endsWith('_total'), `${name}: counters, and only counters, end in _total`).toBe(f.type === 'counter');
      expect(name, 'no precomputed quantiles').not.toMatch(/_p\d\d|quantile/);
      expect(name, 'durations are in seconds').not.toMatch(/_(ms|us|ns|milliseconds)(_|$)/);
      if (f.type !== 'histogram') continue;
      expect(name).toMatch(/_seconds$/);
      const series = new Map<string, { inf?: number; count?: number; les: number }>();
      for (const s of f.samples) {
        const { le, ...rest } = s.labels;
        const k = JSON.stringify(rest);
        const e = series.get(k) ?? series.set(k, { les: 0 }).get(k)!;
        if (s.name.endsWith('_bucket')) {
          expect(le, `${s.name} has le`).toBeDefined();
          e.les++;
          if (le === '+Inf') e.inf = s.value;
        } else if (s.name.endsWith('_count')) e.count = s.value;
      }
      for (const [k, e] of series) {
        expect(e.les, `${name}${k} buckets`).toBeGreaterThan(2);
        expect(e.inf, `${name}${k}: +Inf bucket = count`).toBe(e.count);
      }
    }
  });

  it('counts refusals, and keeps labels bounded after many distinct bad paths', () => {
    const fams = families(exposition);
    expect(value(fams, 'roam_http_requests_total', { route: 'other', code: '404' })).toBe(BAD_PATHS);
    expect(value(fams, 'roam_http_requests_total', { route: 'fn', code: '404' })).toBe(BAD_PATHS);
    expect(value(fams, 'roam_http_requests_total', { route: 'fn', code: '200' })).toBe(5);
    expect(value(fams, 'roam_requests_total', { kind: 'fn', name: 'greet', code: '200' })).toBe(5);
    let series = 0;
    for (const [, f] of fams) {
      series += f.samples.length;
      for (const s of f.samples) for (const v of Object.values(s.labels)) expect(v, `${s.name} label value`).not.toMatch(/nope-|missing-|\s/);
    }
    expect(series, 'series after hundreds of distinct bad paths').toBeLessThan(600);
    expect(exposition).not.toContain('message=');
  });

  it('covers message handlers, places and steering', () => {
    const fams = families(exposition);
    const steered = 64 + 1;
    expect(value(fams, 'roam_handler_messages_total', { bundle: 'hello', tenant: 'default' })).toBe(steered + 4 + (dpu ? 4 : 0) + 1);
    expect(value(fams, 'roam_handler_errors_total', { bundle: 'hello', tenant: 'default' })).toBe(1);
    expect(value(fams, 'roam_wire_errors_total', { code: 'E_TOO_LARGE' })).toBe(1);
    const host = value(fams, 'roam_place_messages_total', { place: 'host' })!;
    const inline = value(fams, 'roam_place_messages_total', { place: 'inline' })!;
    expect(host + inline + (value(fams, 'roam_place_messages_total', { place: 'dpu' }) ?? 0)).toBe(steered + 4 + (dpu ? 4 : 0));
    expect(value(fams, 'roam_place_service_seconds_count', { place: 'host' })).toBe(host);
    expect(value(fams, 'roam_place_reply_seconds_count', { place: 'inline' })).toBe(inline);
    expect(value(fams, 'roam_place_queue_depth', { place: 'host' })).toBe(0);
    if (dpu) expect(value(fams, 'roam_place_service_seconds_count', { place: 'dpu' })).toBeGreaterThanOrEqual(4);
    const decisions = fams.get('roam_steering_decisions_total')!.samples.reduce((n, s) => n + s.value, 0);
    expect(decisions).toBeGreaterThan(0); // one auto message in 16 reaches steering even while the inline lane takes the rest
    expect(fams.get('roam_steering_shifts_total')?.type).toBe('counter');
    expect(fams.get('roam_steering_shift_seconds')?.type).toBe('histogram');
    expect(value(fams, 'roam_port_connections_refused_total', { reason: 'address_limit' })).toBe(0);
    expect(value(fams, 'roam_function_calls_total', { function: 'greet', tenant: 'default' })).toBe(5);
  });
});

describe('a real server\'s logs in a pipe', () => {
  it('are JSON lines only, the guest\'s log line among them with its bundle, function and tenant', async () => {
    server.kill('SIGTERM');
    expect(await exited()).toBe(0);
    const lines = stdout.split('\n').filter((l) => l !== '');
    const records = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`a plain line in the JSON log: ${l}`);
      }
    });
    for (const r of records) expect(r).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) });
    expect(records).toContainEqual(expect.objectContaining({ source: 'guest', bundle: 'hello', function: 'greet', tenant: 'default', msg: 'greet ada3', level: 'info' }));
    expect(records).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^serving on http/), url }));
  });
});
