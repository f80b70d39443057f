/**
 * Persistence of deployed bundles and chains in a state directory:
 *   DIR/bundles/<sha256>.wasm   content-addressed bundle bytes (written before anything points at them)
 *   DIR/index.json              { bundles: { name: hash }, chains: { route: spec } }, replaced atomically
 * A deploy writes the bytes, then swaps the index: a crash before the swap leaves the old index (old
 * version served, the new bytes an unreferenced file), after it the new one. Temp files and bundles no
 * index names are removed at open.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RoamError } from '../errors.ts';
import { TMP_PREFIX, writeFileAtomic } from './atomic.ts';

export interface ChainSpec {
  /** Functions in order; the first receives the request. */
  steps: string[];
  /** Functions a step may pick as its next hop or call besides the steps. */
  also?: string[];
  /** How hops travel: `shm` (default: descriptors into the shared payload pool, in one worker) or
   *  `http` (each hop an HTTP request to the next function; the baseline for comparison). */
  hops?: 'shm' | 'http';
}

export interface StateIndex {
  bundles: Record<string, string>;
  chains: Record<string, ChainSpec>;
}

const HASH_RE = /^[0-9a-f]{64}$/;

export class StateStore {
  private readonly bundlesDir: string;
  private readonly indexFile: string;
  private index: StateIndex = { bundles: {}, chains: {} };

  constructor(readonly dir: string) {
    this.bundlesDir = join(dir, 'bundles');
    this.indexFile = join(dir, 'index.json');
    mkdirSync(this.bundlesDir, { recursive: true });
    if (existsSync(this.indexFile)) {
      try {
        const raw = JSON.parse(readFileSync(this.indexFile, 'utf8')) as Partial<StateIndex>;
        this.index = { bundles: raw.bundles ?? {}, chains: raw.chains ?? {} };
      } catch (e) {
        throw new RoamError('E_STATE', `state index ${this.indexFile} is unreadable: ${(e as Error).message}`);
      }
    }
    this.sweep();
  }

  /** Removes temp files and bundle files that the index does not name (debris of an interrupted deploy). */
  private sweep(): void {
    const live = new Set(Object.values(this.index.bundles));
    for (const d of [this.dir, this.bundlesDir]) {
      for (const f of readdirSync(d)) {
        const orphan = d === this.bundlesDir && f.endsWith('.wasm') && !live.has(f.slice(0, -5));
        if (f.startsWith(TMP_PREFIX) || orphan) unlinkSync(join(d, f));
      }
    }
  }

  get snapshot(): Readonly<StateIndex> {
    return this.index;
  }

  bundleBytes(hash: string): Uint8Array {
    if (!HASH_RE.test(hash)) throw new RoamError('E_STATE', `state index names a bad hash '${hash}'`);
    return readFileSync(join(this.bundlesDir, `${hash}.wasm`));
  }

  /** Stores the bytes (idempotent by hash), then points `name` at them. */
  putBundle(name: string, hash: string, bytes: Uint8Array): void {
    const file = join(this.bundlesDir, `${hash}.wasm`);
    if (!existsSync(file)) writeFileAtomic(file, bytes);
    this.commit({ ...this.index, bundles: { ...this.index.bundles, [name]: hash } });
  }

  removeBundle(name: string): void {
    const bundles = { ...this.index.bundles };
    const hash = bundles[name];
    delete bundles[name];
    this.commit({ ...this.index, bundles });
    if (hash && !Object.values(bundles).includes(hash)) unlinkSync(join(this.bundlesDir, `${hash}.wasm`));
  }

  putChain(route: string, spec: ChainSpec): void {
    this.commit({ ...this.index, chains: { ...this.index.chains, [route]: spec } });
  }

  removeChain(route: string): void {
    const chains = { ...this.index.chains };
    delete chains[route];
    this.commit({ ...this.index, chains });
  }

  private commit(next: StateIndex): void {
    writeFileAtomic(this.indexFile, JSON.stringify(next, null, 1));
    this.index = next;
  }
}
