import { createRequire } from 'node:module';
import type { WASI as WasiClass } from 'node:wasi';

/**
 * WASI preview1 for C guests, on node:wasi (uvwasi). Chosen over a home-made shim because it
 * is complete (args, environ, clocks, fd_write, proc_exit, preopened directories) and already
 * sandboxes paths to the preopens; roam only decides what the guest is given. Output goes
 * straight to the process's stdout/stderr file descriptors (no copy through JS).
 */
export interface WasiOptions {
  /** argv, argv[0] first. */
  args: string[];
  env?: Record<string, string>;
  /** Preopen the current directory as `.` (off by default: a guest sees no files). */
  preopenCwd?: boolean;
  stdout?: number;
  stderr?: number;
}

export interface Wasi {
  imports: WebAssembly.ModuleImports;
  /** Runs `_start`; returns the exit code (0 when main returns normally). */
  start(instance: WebAssembly.Instance): number;
}

// node:wasi warns once per thread that it is experimental; that line is noise in a job's stderr.
const quiet = () => {
  const emit = process.emitWarning;
  process.emitWarning = ((w: string | Error, ...rest: any[]) => {
    if (String(typeof w === 'string' ? w : w.message).includes('WASI')) return;
    return (emit as any).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  return () => (process.emitWarning = emit);
};

/** node:wasi, loaded with its experimental warning silenced (it is emitted at load). */
export function loadWasi(): typeof WasiClass {
  const restore = quiet();
  try {
    return (createRequire(import.meta.url)('node:wasi') as typeof import('node:wasi')).WASI;
  } finally {
    restore();
  }
}

export function createWasi(o: WasiOptions): Wasi {
  const WASI = loadWasi();
  const restore = quiet();
  const wasi = new WASI({
    version: 'preview1',
    args: o.args,
    env: o.env ?? {},
    preopens: o.preopenCwd ? { '.': process.cwd() } : {},
    returnOnExit: true,
    stdout: o.stdout ?? 1,
    stderr: o.stderr ?? 2,
  });
  restore();
  return {
    imports: slowPathOnly((wasi.getImportObject() as Record<string, unknown>).wasi_snapshot_preview1 as WebAssembly.ModuleImports),
    start: (instance) => wasi.start(instance),
  };
}

/**
 * node:wasi's functions, each behind a plain JS function, so a guest never calls them through V8's
 * fast API path. Called straight from TurboFan-compiled Wasm (every function of an MPI guest, which
 * skips Liftoff, and any hot function of a long program), a node:wasi function runs as a fast API
 * call, where V8 must not collect garbage; but uvwasi allocates (fd_write's iovec copy, for one)
 * through an allocator that reports each allocation to V8 (AdjustAmountOfExternalAllocatedMemory),
 * and once external memory passes V8's 64 MiB soft limit (a guest's grown linear memory counts)
 * that report runs a GC inside the fast call. The heap was then corrupted: rank crashes in V8
 * (Scavenger, KeyedLoadIC, uvwasi_fd_table_free aborting on a locked mutex), nodejs/node#46777,
 * still open. Called from JS, the fast callback finds no Wasm memory and takes the slow path, where
 * a GC is safe. One extra JS frame per WASI call (I/O, never on an MPI hot path).
 */
export function slowPathOnly(imports: WebAssembly.ModuleImports): WebAssembly.ModuleImports {
  const out: WebAssembly.ModuleImports = {};
  for (const [name, f] of Object.entries(imports)) {
    out[name] = typeof f === 'function' ? (...args: unknown[]) => (f as (...a: unknown[]) => unknown)(...args) : f;
  }
  return out;
}

export const WASI_MODULE = 'wasi_snapshot_preview1';
