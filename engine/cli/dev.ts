import { watch, type FSWatcher } from 'node:fs';
import { resolve, sep } from 'node:path';
import { buildProject } from '../build/assemblyscript.ts';
import { buildComponentProject, isComponentProject } from '../build/componentize.ts';
import { formatDiagnostics, isBuildError } from '../build/diagnostics.ts';
import { AscCompiler } from '../build/asc.ts';
import { GatewayClient } from '../http/client.ts';
import { contentHash } from '../bundle/bundle.ts';
import type { Progress } from './progress.ts';
import { painter } from './colour.ts';

export interface DevOptions {
  /** The running server's base URL (deploys go through its control API: PUT /v1/bundles/NAME). */
  server: string;
  token?: string;
  progress: Progress;
  /** Result lines (deployed, failed). */
  out: (line: string) => void;
  /** Detail that goes with a failure (code frames). */
  err: (text: string) => void;
  debounceMs?: number;
}

interface Deployed {
  name: string;
  version: string;
  hash: string;
  functions: string[];
  handlers?: string[];
  wireId?: number;
}

/**
 * The author's loop for one project: build, deploy through the control API, and again on every save
 * (debounced; a save during a cycle queues exactly one more). A failed build or deploy leaves the last
 * good version serving. The compiler thread stays loaded between cycles.
 */
export class DevSession {
  readonly dir: string;
  #o: DevOptions;
  #client: GatewayClient;
  #compiler = new AscCompiler();
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #closed = false;
  last: Deployed | null = null;

  constructor(dir: string, o: DevOptions) {
    this.dir = resolve(dir);
    this.#o = o;
    this.#client = new GatewayClient({ server: o.server, token: o.token });
  }

  /** One build + deploy. Never throws: a failure is reported and the last good version keeps serving. */
  async cycle(): Promise<boolean> {
    const p = this.#o.progress;
    const t0 = performance.now();
    try {
      const onProgress = (s: string) => p.step(s);
      const built = isComponentProject(this.dir)
        ? await buildComponentProject(this.dir, { onProgress })
        : await buildProject(this.dir, { onProgress, compiler: this.#compiler, cache: true });
      const buildMs = performance.now() - t0;
      if (this.last && contentHash(built.bytes) === this.last.hash) {
        p.done();
        this.#o.out(`unchanged ${this.last.name}@${this.last.version} (${this.last.hash.slice(0, 12)}) built in ${Math.round(buildMs)} ms`);
        return true;
      }
      p.step(`deploying ${built.manifest.name}`);
      const t1 = performance.now();
      const r = await this.#client.control<Deployed>('PUT', `/v1/bundles/${encodeURIComponent(built.manifest.name)}`, built.bytes);
      p.done(`built in ${(buildMs / 1000).toFixed(1)} s`);
      this.last = r;
      const urls = r.functions.map((f) => `${this.#o.server}/fn/${f}/`).join(' ');
      const handlers = r.handlers?.length ? `handlers ${r.handlers.join(', ')} over the binary protocol${r.wireId === undefined ? '' : ` (wire id ${r.wireId})`}` : '';
      const where = [urls, handlers].filter(Boolean).join('; ');
      this.#o.out(`deployed ${r.name}@${r.version} (${r.hash.slice(0, 12)}, ${built.bytes.length} bytes) built in ${Math.round(buildMs)} ms, deployed in ${Math.round(performance.now() - t1)} ms${where ? `: ${where}` : ''}`);
      return true;
    } catch (e) {
      p.fail();
      const msg = e instanceof Error ? e.message : String(e);
      const still = this.last ? ` (still serving ${this.last.name}@${this.last.version}, ${this.last.hash.slice(0, 12)})` : '';
      this.#o.out(`failed: ${msg.split('\n')[0]}${still}`);
      if (isBuildError(e)) this.#o.err(formatDiagnostics(e.diagnostics, painter(process.stderr), { afterHeadline: true }) + '\n');
      return false;
    }
  }

  /** Watches the project (not build/, node_modules/ or dot-files) and runs a cycle after each burst of saves. */
  watch(): void {
    const debounce = this.#o.debounceMs ?? 150;
    this.#watcher = watch(this.dir, { recursive: true }, (_event, file) => {
      if (file && ignored(String(file))) return;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.kick(), debounce);
    });
    this.#watcher.on('error', (e) => this.#o.out(`watch failed: ${e.message}`));
  }

  /** Runs a cycle now, or once more after the one running; resolves when the project is quiet again. */
  kick(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = this.cycle().then(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        return this.kick();
      }
    });
    this.#running = run;
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#watcher?.close();
    await this.#running;
    await this.#compiler.close();
  }
}

/** Paths a save in which must not trigger a build: outputs, dependencies, editors' dot-files and swap files. */
function ignored(file: string): boolean {
  const parts = file.split(sep);
  return parts.some((p) => p === 'build' || p === 'node_modules' || p.startsWith('.')) || /(~|\.swp|\.swx|\.tmp)$/.test(file);
}
