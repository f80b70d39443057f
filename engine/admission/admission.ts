/**
 * Admission: the one path from bytes to something that can run. bytes → parse → verify → meter →
 * compile, cached by code. `Engine`, the server's registry and the places all admit through here, so a
 * bundle is refused the same way (naming the import, export or limit) whichever door it came in by.
 */
import { createHash } from 'node:crypto';
import { RoamError } from '../errors.ts';
import { MANIFEST_SECTION, type Bundle } from '../bundle/bundle.ts';
import type { Manifest } from '../bundle/manifest.ts';
import type { Capability } from '../capabilities/capability.ts';
import { isComponent } from '../bundle/component-binary.ts';
import { verifyComponent, type VerifiedComponent } from './verify-component.ts';
import { meter } from '../meter/meter.ts';
import { parseSections, verifyBundle, type EngineLimits } from '../verify/verify.ts';

/** A verified bundle: a core module (metered and compiled on demand) or a WebAssembly component. */
export type Admitted =
  | { kind: 'core'; manifest: Manifest; hash: string; bytes: Uint8Array; bundle: Bundle }
  | { kind: 'component'; manifest: Manifest; hash: string; bytes: Uint8Array; component: VerifiedComponent };

/** Metered modules smaller than this compile synchronously (see `compile`). */
const SYNC_COMPILE_MAX = 256 << 10;
/** Compiled modules kept at most (least recently used dropped first)… */
const CACHE_SIZE = 64;
/** …and at most this many bytes of metered code among them: V8's compiled code and metadata grow with
 *  the module (a QuickJS guest's ~1 MiB of code costs several MiB compiled), so a count alone let 64 big
 *  modules hold hundreds of MiB (issue 19: RSS grew over many redeploys of distinct bundles). */
const CACHE_BYTES = 32 << 20;

/** What the compiled-module cache holds (for STATS and the redeploy test). */
export interface AdmissionCacheStats {
  modules: number;
  /** Metered code bytes of the cached modules (the size bound is on these). */
  bytes: number;
}

export class Admission {
  /** Compiled, metered modules by code key (see `codeKey`), least recently used first, with their metered size. */
  private readonly compiled = new Map<string, { module: WebAssembly.Module; bytes: number }>();
  private cachedBytes = 0;

  constructor(
    readonly capabilities: ReadonlyMap<string, Capability>,
    readonly limits: EngineLimits,
  ) {}

  /** Parses and verifies: imports within the declared capabilities, ABI exports, memory limits. */
  check(bytes: Uint8Array): Admitted {
    if (isComponent(bytes)) {
      const component = verifyComponent(bytes);
      parseSections(component.manifest, this.capabilities);
      return { kind: 'component', manifest: component.manifest, hash: component.hash, bytes, component };
    }
    const bundle = verifyBundle(bytes, this.capabilities, this.limits);
    return { kind: 'core', manifest: bundle.manifest, hash: bundle.hash, bytes, bundle };
  }

  /** As `check`, refusing a component (for callers that run core modules only). */
  checkCore(bytes: Uint8Array): Bundle {
    return verifyBundle(bytes, this.capabilities, this.limits);
  }

  /** The fuel-instrumented module bytes, with the memory and fuel caps this engine allows. */
  meter(b: Bundle): Uint8Array {
    return meter(b.module, this.pages(b), this.fuel(b));
  }

  /**
   * Meters and compiles, reusing the result for the same code: a new version that changes only its
   * manifest (the usual redeploy of config, tenant, limits) skips both. A small module compiles
   * synchronously: with V8's lazy compilation that is mostly validation (~0.5 ms for the hello bundle),
   * where the asynchronous path's hops through background threads cost 0.7–2 ms on a loaded 2-core
   * machine. Large ones, or all with `offThread` (a network thread that must never stall), compile off
   * this thread.
   */
  async compile(b: Bundle, offThread = false): Promise<WebAssembly.Module> {
    const key = this.codeKey(b);
    const hit = this.hit(key);
    if (hit) return hit;
    const metered = this.meter(b) as BufferSource;
    const module = !offThread && metered.byteLength < SYNC_COMPILE_MAX ? compileNow(metered) : await WebAssembly.compile(metered).catch((e: unknown) => Promise.reject(meterBug(e)));
    return this.keep(key, module, metered.byteLength);
  }

  /** As `compile`, always on this thread (for callers that must answer synchronously). */
  compileSync(b: Bundle): WebAssembly.Module {
    const key = this.codeKey(b);
    const hit = this.hit(key);
    if (hit) return hit;
    const metered = this.meter(b) as BufferSource;
    return this.keep(key, compileNow(metered), metered.byteLength);
  }

  /**
   * Drops `b`'s compiled module from the cache: called when a version is replaced or deleted, so the
   * cache does not keep code nothing serves any more. `unless` (the version that replaced it) keeps it
   * when both share the code (a redeploy that changed only the manifest).
   */
  forget(b: Bundle, unless?: Bundle): void {
    const key = this.codeKey(b);
    if (unless && this.codeKey(unless) === key) return;
    this.drop(key);
  }

  cacheStats(): AdmissionCacheStats {
    return { modules: this.compiled.size, bytes: this.cachedBytes };
  }

  private pages(b: Bundle): number {
    return Math.min(b.manifest.limits.memoryPages, this.limits.maxMemoryPages);
  }

  private fuel(b: Bundle): number {
    return Math.min(b.manifest.limits.fuel, this.limits.maxFuel);
  }

  /** Every section but the manifest, plus what metering depends on (memory pages, start fuel). */
  private codeKey(b: Bundle): string {
    const h = createHash('sha256').update(`${this.pages(b)}/${this.fuel(b)}/`);
    for (const sec of b.module.sections) if (!(sec.id === 0 && sec.name === MANIFEST_SECTION)) h.update(b.bytes.subarray(sec.start, sec.end));
    return h.digest('hex');
  }

  private hit(key: string): WebAssembly.Module | undefined {
    const m = this.compiled.get(key);
    if (m) {
      this.compiled.delete(key); // most recently used goes last
      this.compiled.set(key, m);
    }
    return m?.module;
  }

  private keep(key: string, module: WebAssembly.Module, bytes: number): WebAssembly.Module {
    this.drop(key);
    // A module bigger than the whole bound is returned but not kept (it would evict everything else).
    if (bytes > CACHE_BYTES) return module;
    while (this.compiled.size > 0 && (this.compiled.size >= CACHE_SIZE || this.cachedBytes + bytes > CACHE_BYTES)) this.drop(this.compiled.keys().next().value!);
    this.compiled.set(key, { module, bytes });
    this.cachedBytes += bytes;
    return module;
  }

  private drop(key: string): void {
    const e = this.compiled.get(key);
    if (!e) return;
    this.compiled.delete(key);
    this.cachedBytes -= e.bytes;
  }
}

function compileNow(bytes: BufferSource): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes);
  } catch (e) {
    throw meterBug(e);
  }
}

const meterBug = (e: unknown) => new RoamError('E_METER', `instrumented module failed to compile (engine bug): ${(e as Error).message}`);
