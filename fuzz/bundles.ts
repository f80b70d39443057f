/**
 * Bundles: mutations of every function under functions/ through admission (verify → meter → compile and
 * one call, in a worker: a hang is a timeout) and through PUT /v1/bundles of a real server (then one call
 * of what deployed). Admission must refuse by name (a RoamError, never a TypeError or RangeError that the
 * server would answer as 500 E_INTERNAL); the server must answer 201 or 4xx to a PUT, never 5xx, and stay up.
 */
import { Worker } from 'node:worker_threads';
import { readBundle } from '../engine/bundle/bundle.ts';
import { isComponent, verifyComponent } from '../engine/components/index.ts';
import { HangError, Prng, Report, Served, within } from './lib.ts';
import { buildBundle, functionProjects } from './bundles-built.ts';
import { mutateBytes, mutateManifest } from './mutate.ts';

export interface BundleFuzzOptions {
  seed: number;
  /** Mutated bundles through admission; a tenth as many again go through PUT /v1/bundles. */
  inputs: number;
  /** Include componentize-js projects (15-40 s each to build). */
  components?: boolean;
  log?: (line: string) => void;
}

/** One admission worker, replaced after a hang. */
class Admission {
  private w: Worker | null = null;
  private async worker(): Promise<Worker> {
    if (this.w) return this.w;
    const w = new Worker(new URL('./admit-worker.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: 512 } });
    await new Promise<void>((ok, fail) => {
      w.once('message', () => ok());
      w.once('error', fail);
    });
    w.on('error', () => {});
    return (this.w = w);
  }
  async admit(bytes: Uint8Array): Promise<{ code?: string; stage?: string; unexpected?: string }> {
    const w = await this.worker();
    let onMessage!: (m: { code?: string; unexpected?: string }) => void;
    let onExit!: (code: number) => void;
    const answer = new Promise<{ code?: string; unexpected?: string }>((ok) => {
      onMessage = ok;
      onExit = (code) => ok({ unexpected: `admission worker exited (${code})` });
      w.once('message', onMessage);
      w.once('exit', onExit);
    });
    w.postMessage(bytes);
    try {
      const r = await within(answer, 20_000, 'admission');
      if (r.unexpected?.startsWith('admission worker exited')) this.w = null;
      return r;
    } catch (e) {
      await this.close();
      throw e;
    } finally {
      w.off('message', onMessage);
      w.off('exit', onExit);
    }
  }
  async close(): Promise<void> {
    const w = this.w;
    this.w = null;
    w?.removeAllListeners('exit');
    await w?.terminate();
  }
}

interface Seed {
  project: string;
  name: string;
  fn: string;
  bytes: Uint8Array;
}

async function seeds(components: boolean): Promise<Seed[]> {
  const out: Seed[] = [];
  for (const project of functionProjects(components)) {
    const { bytes } = await buildBundle(project);
    const m = isComponent(bytes) ? verifyComponent(bytes).manifest : readBundle(bytes).manifest;
    out.push({ project, name: m.name, fn: m.functions[0]?.name ?? m.handlers[0]?.name ?? m.name, bytes });
  }
  return out;
}

function mutate(rng: Prng, s: Seed): Uint8Array {
  let b: Uint8Array = s.bytes;
  for (let n = 1 + rng.int(2); n > 0; n--) b = (!isComponent(b) && rng.chance(0.3) && mutateManifest(rng, b)) || mutateBytes(rng, b);
  return b;
}

/** PUTs one bundle and calls what deployed; '' when the server answered as it should. */
async function throughServer(server: Served, s: Seed, bytes: Uint8Array): Promise<string> {
  const put = await within(fetch(`${server.url}/v1/bundles/${s.name}`, { method: 'PUT', body: Buffer.from(bytes) }), 120_000, 'PUT /v1/bundles');
  const text = await put.text();
  if (put.status >= 500) return `PUT answered ${put.status}: ${text.slice(0, 300)}`;
  if (put.status !== 201) return '';
  const call = await within(fetch(`${server.url}/fn/${s.fn}/x`, { method: 'POST', body: 'fuzz' }), 60_000, `POST /fn/${s.fn}`);
  const body = await call.text();
  if (body.includes('"E_INTERNAL"')) return `POST /fn/${s.fn} answered ${call.status} E_INTERNAL: ${body.slice(0, 300)}`;
  return '';
}

export async function fuzzBundles(o: BundleFuzzOptions): Promise<Report> {
  const report = new Report('bundles', o.seed);
  const log = o.log ?? (() => {});
  const all = await seeds(o.components ?? true);
  report.notes.push(`seeds: ${all.map((s) => s.project).join(', ')}`);
  const rng = new Prng(o.seed);
  const admission = new Admission();
  const server = await Served.start();
  report.rssStart = server.rss();
  const outcomes = new Map<string, number>();
  try {
    const viaServer = Math.max(1, Math.floor(o.inputs / 10));
    for (let i = 0; i < o.inputs + viaServer && report.ok; i++) {
      const s = all[i % all.length]!;
      const bytes = mutate(rng, s);
      report.inputs++;
      const record = { project: s.project, bytes: Buffer.from(bytes).toString('base64'), via: i < o.inputs ? 'admission' : 'server' };
      if (i < o.inputs) {
        try {
          const r = await admission.admit(bytes);
          if (r.unexpected) log(`bundles: wrong: ${r.unexpected}\n  replay: ${report.fail('wrong', `${s.project}: ${r.unexpected}`, record)}`);
          const k = r.code ?? r.stage ?? 'unexpected';
          outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
        } catch (e) {
          if (e instanceof HangError) log(`bundles: hang: ${e.message}\n  replay: ${report.fail('hang', `${s.project}: ${e.message}`, record)}`);
          else throw e;
        }
        continue;
      }
      const why = await throughServer(server, s, bytes).catch((e: Error) => (e instanceof HangError ? `hang: ${e.message}` : `${e.message}`));
      if (!server.alive) log(`bundles: crash\n  replay: ${report.fail('crash', `server exited (${server.exited}) after ${s.project}: ${server.stderr.slice(-400)}`, record)}`);
      else if (why) log(`bundles: ${why}\n  replay: ${report.fail(why.startsWith('hang') ? 'hang' : 'wrong', `${s.project}: ${why}`, record)}`);
    }
    report.notes.push(`admission outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    report.rssEnd = server.rss();
  } finally {
    await admission.close();
    await server.stop();
  }
  return report;
}

export async function replayBundle(rec: Record<string, unknown>): Promise<Report> {
  const report = new Report('bundles-replay', Number(rec.seed));
  const bytes = new Uint8Array(Buffer.from(rec.bytes as string, 'base64'));
  const s = (await seeds(true)).find((x) => x.project === rec.project)!;
  report.inputs = 1;
  if (rec.via === 'admission') {
    const a = new Admission();
    try {
      const r = await a.admit(bytes);
      if (r.unexpected) report.failures.push({ kind: 'wrong', message: r.unexpected, file: '' });
      else report.notes.push(`admission: ${r.code ?? r.stage}`);
    } catch (e) {
      report.failures.push({ kind: 'hang', message: (e as Error).message, file: '' });
    } finally {
      await a.close();
    }
    return report;
  }
  const server = await Served.start();
  try {
    report.rssStart = server.rss();
    const why = await throughServer(server, s, bytes).catch((e: Error) => e.message);
    if (why || !server.alive) report.failures.push({ kind: server.alive ? 'wrong' : 'crash', message: why || `server exited (${server.exited})`, file: '' });
    report.rssEnd = server.rss();
  } finally {
    await server.stop();
  }
  return report;
}
