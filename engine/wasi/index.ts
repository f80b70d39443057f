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
    imports: (wasi.getImportObject() as Record<string, unknown>).wasi_snapshot_preview1 as WebAssembly.ModuleImports,
    start: (instance) => wasi.start(instance),
  };
}

export const WASI_MODULE = 'wasi_snapshot_preview1';
