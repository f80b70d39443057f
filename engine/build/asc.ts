import { Worker } from 'node:worker_threads';
import { RoamError } from '../errors.ts';

/** One compiler message, positioned in its file when asc gave a range. */
export interface Diagnostic {
  category: 'error' | 'warning' | 'info' | 'pragma';
  code: number;
  message: string;
  /** Absolute path, or `~lib/…` for asc's standard library. */
  file?: string;
  line?: number;
  column?: number;
  lineText?: string;
  length?: number;
}

export interface AscJob {
  projectDir: string;
  sdkDir: string;
  args: string[];
  /** Files served from memory by name (the ABI entry). */
  virtual: Record<string, string>;
}

export interface AscResult {
  ok: boolean;
  outputs: Record<string, Uint8Array | string>;
  diagnostics: Diagnostic[];
  error: string | null;
  /** Every file the compiler read (roam dev watches these). */
  files: string[];
  /** Paths the compiler tried that did not exist. */
  probes: string[];
  /** assemblyscript's version. */
  version: string;
}

type Pending = { resolve: (r: AscResult) => void; reject: (e: Error) => void };

/**
 * The AssemblyScript compiler in a worker thread of its own (asc-worker.mjs), outside the TypeScript
 * loader. Jobs run one at a time; the worker is unref'd while idle so it never keeps a process alive.
 */
export class AscCompiler {
  #worker: Worker | null = null;
  #ready: Promise<void> | null = null;
  #pending = new Map<number, Pending>();
  #next = 1;
  #queue: Promise<unknown> = Promise.resolve();

  /** Starts the worker (and loads the compiler) ahead of the first job. */
  warm(): Promise<void> {
    if (this.#ready) return this.#ready;
    const w = new Worker(new URL('./asc-worker.mjs', import.meta.url));
    this.#worker = w;
    this.#ready = new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    w.on('message', (m: AscResult & { id?: number }) => {
      if (m.id === undefined) return;
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) w.unref();
      p?.resolve(m);
    });
    const fail = (e: Error) => {
      if (this.#worker !== w) return; // an old worker, closed on purpose
      for (const p of this.#pending.values()) p.reject(new RoamError('E_BUILD', `AssemblyScript compiler thread failed: ${e.message}`));
      this.#pending.clear();
      this.#worker = null;
      this.#ready = null;
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    w.unref();
    return this.#ready;
  }

  compile(job: AscJob): Promise<AscResult> {
    const run = this.#queue.then(() => this.#run(job));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #run(job: AscJob): Promise<AscResult> {
    const ready = this.warm();
    const w = this.#worker!;
    w.ref(); // a job in flight keeps the process alive (an idle worker does not)
    const id = this.#next++;
    this.#pending.set(id, { resolve: () => {}, reject: () => {} }); // counted while the compiler loads
    try {
      await ready;
    } catch (e) {
      this.#pending.delete(id);
      throw new RoamError('E_BUILD', `cannot start the AssemblyScript compiler: ${(e as Error).message}`);
    }
    return new Promise<AscResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      w.postMessage({ id, ...job });
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    this.#ready = null;
    for (const p of this.#pending.values()) p.reject(new RoamError('E_BUILD', 'AssemblyScript compiler closed'));
    this.#pending.clear();
    if (w) await w.terminate();
  }
}

/** The process's shared compiler (one worker, loaded on first use). */
export const sharedCompiler = new AscCompiler();
