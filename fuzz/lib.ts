/**
 * What the fuzzers share: a seeded PRNG, the report every run prints, the server they attack, and the
 * files a failing input is written to (replayable with one command, printed with the failure).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

/** xorshift128+ over two 32-bit halves: fast, seedable, the same sequence for a seed on every machine. */
export class Prng {
  private a: number;
  private b: number;
  constructor(seed: number) {
    this.a = (seed ^ 0x9e3779b9) >>> 0 || 1;
    this.b = (Math.imul(seed, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0 || 2;
    for (let i = 0; i < 8; i++) this.u32();
  }
  u32(): number {
    let x = this.a;
    const y = this.b;
    this.a = y;
    x ^= x << 11;
    x ^= x >>> 8;
    this.b = (x ^ y ^ (y >>> 19)) >>> 0;
    return this.b;
  }
  /** 0 ≤ n < max. */
  int(max: number): number {
    return max <= 1 ? 0 : this.u32() % max;
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

export interface Failure {
  kind: 'crash' | 'hang' | 'wrong';
  message: string;
  file: string;
}

/** One run's outcome: the figures benchmarks/RESULTS.md records. */
export class Report {
  inputs = 0;
  readonly failures: Failure[] = [];
  rssStart = 0;
  rssEnd = 0;
  private readonly t0 = performance.now();
  readonly notes: string[] = [];
  constructor(readonly fuzzer: string, readonly seed: number) {}

  count(kind: Failure['kind']): number {
    return this.failures.filter((f) => f.kind === kind).length;
  }
  get ok(): boolean {
    return this.failures.length === 0;
  }

  /** Writes the input that caused a failure and remembers it; returns the replay command. */
  fail(kind: Failure['kind'], message: string, input: Record<string, unknown>): string {
    const dir = join(ROOT, 'fuzz', 'failures');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.fuzzer}-${this.seed}-${this.failures.length}.json`);
    writeFileSync(file, JSON.stringify({ fuzzer: this.fuzzer, seed: this.seed, kind, message, ...input }, null, 1));
    this.failures.push({ kind, message, file });
    return `npm run fuzz -- --replay ${file}`;
  }

  line(): string {
    const s = ((performance.now() - this.t0) / 1000).toFixed(1);
    const mb = (n: number) => (n / 1048576).toFixed(0);
    return `${this.fuzzer}: seed ${this.seed}, ${this.inputs} inputs in ${s} s; crashes ${this.count('crash')}, hangs ${this.count('hang')}, wrong answers ${this.count('wrong')}; server RSS ${mb(this.rssStart)} → ${mb(this.rssEnd)} MiB${this.notes.length ? `; ${this.notes.join('; ')}` : ''}`;
  }
}

export const readReplay = (file: string): Record<string, unknown> & { fuzzer: string; seed: number } => JSON.parse(readFileSync(file, 'utf8'));

/** Resident memory of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // exited
  }
}

/** A real `roam serve` (a child process, port 0); `exited` is set when it dies. */
export class Served {
  exited: number | null | undefined;
  stderr = '';
  private constructor(readonly child: ChildProcess, readonly url: string) {}

  static async start(args: string[] = []): Promise<Served> {
    const child = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--no-auth', '--port', '0', '--threads', '1', '--workers', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout!.on('data', (c) => {
        out += c;
        const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
        if (m) ok(m[1]!);
      });
      child.once('exit', (code) => fail(new Error(`roam serve exited with ${code} before serving: ${out.slice(-500)}`)));
    });
    const s = new Served(child, url);
    child.stdout!.resume();
    child.stderr!.on('data', (c) => void (s.stderr = (s.stderr + c).slice(-20_000)));
    child.once('exit', (code, sig) => void (s.exited = code ?? (sig ? -1 : null)));
    return s;
  }
  get port(): number {
    return Number(new URL(this.url).port);
  }
  get alive(): boolean {
    return this.exited === undefined;
  }
  rss(): number {
    return rssOf(this.child.pid!);
  }
  async stop(): Promise<void> {
    if (!this.alive) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await done;
  }
}

/** Rejects with 'hang' after ms (the timer does not keep the process alive). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new HangError(`${what}: no answer within ${ms} ms`)), ms).unref()))]).finally(() => clearTimeout(t));
}
export class HangError extends Error {}
