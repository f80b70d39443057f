import { existsSync, readdirSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { buildProject } from '../build/assemblyscript.ts';
import { buildComponentProject, isComponentProject } from '../build/componentize.ts';
import { buildTsProject, isTsProject } from '../build/build-ts.ts';
import { buildPrebuiltProject, isPrebuiltProject } from '../build/prebuilt.ts';
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
  #watchers = new Map<string, FSWatcher>();
  #rescan = false;
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
      const built = isTsProject(this.dir)
        ? (p.step('building TypeScript for QuickJS'), await buildTsProject(this.dir))
        : isPrebuiltProject(this.dir)
          ? await buildPrebuiltProject(this.dir)
          : isComponentProject(this.dir)
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

  /**
   * Watches the project (not build/, node_modules/ or dot-files) and runs a cycle after each burst of saves.
   * One watcher per directory, not `recursive: true`: Node 20's recursive watcher on Linux follows files,
   * and lost a file an editor saved atomically (write a temp file, rename it over the original: sed -i,
   * vim) after the first such save. A directory's watch sees every file renamed into it; a rename also
   * rescans the tree for new or removed directories.
   */
  watch(): void {
    this.#watchTree(this.dir);
  }

  #watchTree(dir: string): void {
    if (this.#closed) return;
    for (const [d, w] of this.#watchers) if (!existsSync(d)) { w.close(); this.#watchers.delete(d); }
    const visit = (d: string) => {
      if (!this.#watchers.has(d)) {
        try {
          const w = watch(d, (event, file) => this.#changed(d, event, file));
          w.on('error', () => { w.close(); this.#watchers.delete(d); }); // the directory went away
          this.#watchers.set(d, w);
        } catch {
          return; // removed while we looked
        }
      }
      let entries: Dirent[] = [];
      try {
        entries = readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory() && !ignored(e.name)) visit(join(d, e.name));
    };
    visit(dir);
  }

  #changed(dir: string, event: string, file: string | Buffer | null): void {
    const rel = relative(this.dir, join(dir, String(file ?? '')));
    if (file && ignored(rel)) return;
    if (event === 'rename') this.#rescan = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#rescan) {
        this.#rescan = false;
        this.#watchTree(this.dir);
      }
      void this.kick();
    }, this.#o.debounceMs ?? 150);
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
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    await this.#running;
    await this.#compiler.close();
  }
}

/** Paths a save in which must not trigger a build: outputs, dependencies, editors' dot-files and swap files. */
function ignored(file: string): boolean {
  const parts = file.split(sep);
  return parts.some((p) => p === 'build' || p === 'node_modules' || p.startsWith('.')) || /(~|\.swp|\.swx|\.tmp)$/.test(file);
}
