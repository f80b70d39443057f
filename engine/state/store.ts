/**
 * Persistence of deployed bundles and chains in a state directory:
 *   DIR/bundles/<sha256(name)>.bundle   one file per deployed bundle name: a header line naming it, then
 *                                       the bundle's bytes; a deploy replaces it with one atomic write
 *                                       (temp file, fsync, rename, one fsync of the directory)
 *   DIR/index.json                      { chains: { route: spec }, env: { bundle: { VAR: value } } }, replaced
 *                                       atomically on chain and environment changes
 * A crash before the rename leaves the old file (old version served) and a temp file, which is removed
 * at open; after it, the new one. Nothing else points at a bundle file, so there is no second write to
 * keep in step with the first.
 *
 * Older state directories (index.json naming `bundles: { name: sha256 }` and DIR/bundles/<sha256>.wasm)
 * are read and migrated at open.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RoamError } from '../errors.ts';
import { fsyncDir, stageFile, TMP_PREFIX, writeFileAtomic, type StagedFile } from './atomic.ts';

export interface ChainSpec {
  /** Functions in order; the first receives the request. */
  steps: string[];
  /** Functions a step may pick as its next hop or call besides the steps. */
  also?: string[];
  /** How hops travel: `shm` (default: descriptors into the shared payload pool, in one worker) or
   *  `http` (each hop an HTTP request to the next function; the baseline for comparison). */
  hops?: 'shm' | 'http';
  /** In the state index only: the tenant that owns the route (absent: the admin's). */
  tenant?: string;
}

export interface StateIndex {
  chains: Record<string, ChainSpec>;
  /** Operator-set environment values of components, by bundle name (PUT /v1/env/NAME); re-checked against
   *  the manifest at restore. Stored as given: the state directory is the operator's (like the bundles). */
  env?: Record<string, Record<string, string>>;
}

/** First bytes of a bundle file; the rest of the header line is JSON `{ "name": … }`. */
const MAGIC = 'roam-bundle/1 ';
const HASH_RE = /^[0-9a-f]{64}$/;
const fileOf = (name: string) => `${createHash('sha256').update(name).digest('hex')}.bundle`;

export class StateStore {
  private readonly bundlesDir: string;
  private readonly indexFile: string;
  private index: StateIndex = { chains: {} };
  /** Bundles found at open, by name (handed to the registry once by `storedBundles`). */
  private stored = new Map<string, Uint8Array>();
  /** Bundle files that could not be read at open: skipped (the rest load), reported by the registry. */
  readonly skipped: Array<{ file: string; reason: string }> = [];

  constructor(readonly dir: string) {
    this.bundlesDir = join(dir, 'bundles');
    this.indexFile = join(dir, 'index.json');
    mkdirSync(this.bundlesDir, { recursive: true });
    let legacy: Record<string, string> = {};
    if (existsSync(this.indexFile)) {
      try {
        const raw = JSON.parse(readFileSync(this.indexFile, 'utf8')) as Partial<StateIndex> & { bundles?: Record<string, string> };
        const isMap = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
        if (!isMap(raw) || (raw.chains !== undefined && !isMap(raw.chains))) throw new Error('expected { "chains": { route: spec } }');
        this.index = { chains: raw.chains ?? {}, ...(isMap(raw.env) ? { env: raw.env } : {}) };
        legacy = isMap(raw.bundles) ? raw.bundles! : {};
      } catch (e) {
        // Its chains are lost (each is re-validated at restore anyway); the bundles beside it still load.
        this.skipped.push({ file: this.indexFile, reason: `unreadable chain index: ${(e as Error).message}` });
      }
    }
    this.sweep();
    for (const f of readdirSync(this.bundlesDir)) {
      if (!f.endsWith('.bundle')) continue;
      try {
        const { name, bytes } = StateStore.parse(join(this.bundlesDir, f));
        this.stored.set(name, bytes);
      } catch (e) {
        this.skipped.push({ file: join(this.bundlesDir, f), reason: (e as Error).message });
      }
    }
    this.migrate(legacy);
  }

  /** Reads a bundle file: header line, then the bytes. */
  private static parse(file: string): { name: string; bytes: Uint8Array } {
    const buf = readFileSync(file);
    const nl = buf.indexOf(10);
    const head = nl < 0 ? '' : buf.subarray(0, nl).toString('utf8');
    if (!head.startsWith(MAGIC)) throw new RoamError('E_STATE', `state file ${file} is not a roam bundle file`);
    let name: unknown;
    try {
      name = (JSON.parse(head.slice(MAGIC.length)) as { name?: unknown }).name;
    } catch {
      name = undefined;
    }
    if (typeof name !== 'string') throw new RoamError('E_STATE', `state file ${file} has a bad header`);
    return { name, bytes: buf.subarray(nl + 1) };
  }

  /** Moves bundles of the older layout (index → content-addressed files) to one file per name. */
  private migrate(legacy: Record<string, string>): void {
    const names = Object.keys(legacy);
    if (names.length === 0) return;
    for (const name of names) {
      if (this.stored.has(name)) continue; // migrated before a crash
      const hash = legacy[name]!;
      if (!HASH_RE.test(hash)) throw new RoamError('E_STATE', `state index names a bad hash '${hash}'`);
      const bytes = readFileSync(join(this.bundlesDir, `${hash}.wasm`));
      this.writeBundle(name, bytes);
      this.stored.set(name, bytes);
    }
    writeFileAtomic(this.indexFile, JSON.stringify(this.index, null, 1));
    for (const f of readdirSync(this.bundlesDir)) if (f.endsWith('.wasm')) unlinkSync(join(this.bundlesDir, f));
  }

  /** Removes temp files (debris of an interrupted write). */
  private sweep(): void {
    for (const d of [this.dir, this.bundlesDir]) for (const f of readdirSync(d)) if (f.startsWith(TMP_PREFIX)) unlinkSync(join(d, f));
  }

  get snapshot(): Readonly<StateIndex> {
    return this.index;
  }

  /** The bundles stored at open, by name; handed out once (the registry installs them). */
  storedBundles(): Array<[string, Uint8Array]> {
    const out = [...this.stored];
    this.stored = new Map();
    return out;
  }

  private static head(name: string): Uint8Array {
    return Buffer.from(`${MAGIC}${JSON.stringify({ name })}\n`);
  }

  private writeBundle(name: string, bytes: Uint8Array): void {
    writeFileAtomic(join(this.bundlesDir, fileOf(name)), [StateStore.head(name), bytes]);
  }

  /**
   * Stores `bytes` as bundle `name`, in two steps: the returned promise resolves once the bytes are on
   * disk under a temporary name (data synced, off the event loop); `commit()` then renames the file over
   * the bundle's one file and syncs the directory, the moment the new version becomes the stored one.
   * Two syncs per deploy. Callers serialize deploys (the registry does).
   */
  stageBundle(name: string, bytes: Uint8Array): Promise<StagedFile> {
    return stageFile(join(this.bundlesDir, fileOf(name)), [StateStore.head(name), bytes]);
  }

  removeBundle(name: string): void {
    const file = join(this.bundlesDir, fileOf(name));
    if (!existsSync(file)) return;
    unlinkSync(file);
    fsyncDir(this.bundlesDir);
  }

  putChain(route: string, spec: ChainSpec): void {
    this.commit({ ...this.index, chains: { ...this.index.chains, [route]: spec } });
  }

  removeChain(route: string): void {
    const chains = { ...this.index.chains };
    delete chains[route];
    this.commit({ ...this.index, chains });
  }

  putEnv(bundle: string, values: Record<string, string>): void {
    this.commit({ ...this.index, env: { ...this.index.env, [bundle]: values } });
  }

  removeEnv(bundle: string): void {
    if (!this.index.env?.[bundle]) return;
    const env = { ...this.index.env };
    delete env[bundle];
    this.commit({ ...this.index, env });
  }

  private commit(next: StateIndex): void {
    writeFileAtomic(this.indexFile, JSON.stringify(next, null, 1));
    this.index = next;
  }
}
