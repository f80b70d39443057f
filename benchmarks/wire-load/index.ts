// Builds and runs wire-load.c (the C load generator for the wire protocol: see its header).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SRC = join(HERE, 'wire-load.c');
const BIN = join(HERE, 'build', 'wire-load');

export const hasCommand = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The wire-load binary, compiled when missing or older than its source; null without a C compiler. */
export function wireLoadBinary(): string | null {
  if (existsSync(BIN) && statSync(BIN).mtimeMs > statSync(SRC).mtimeMs) return BIN;
  if (!hasCommand('cc')) return null;
  mkdirSync(join(HERE, 'build'), { recursive: true });
  const r = spawnSync('cc', ['-O2', '-o', BIN, SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc wire-load.c failed: ${r.stderr}`);
  return BIN;
}

export interface WireLoadRun {
  port: number;
  bundle: number;
  /** Handler type. */
  type: number;
  connections: number;
  pipeline: number;
  requests: number;
  keys: number;
  /** Bytes of 'x' after the 8-byte key (0 for kv get). */
  valueBytes: number;
  /** Wire place code (0 auto, the default; 3 host: the worker pool, never the inline lane). */
  place?: number;
}

export interface WireLoadResult {
  ops: number;
  /** Requests re-sent after a "slot busy" answer (not counted in ops). */
  retries: number;
  seconds: number;
  /** The generator's own CPU time (user + system), µs. */
  cpu_us: number;
}

/** Runs wire-load to completion (asynchronously: the server may live in this process). */
export function runWireLoad(bin: string, o: WireLoadRun): Promise<WireLoadResult> {
  const args = ['-p', o.port, '-b', o.bundle, '-t', o.type, '-d', o.valueBytes, '-c', o.connections, '-P', o.pipeline, '-n', o.requests, '-k', o.keys, '-l', o.place ?? 0].map(String);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out) as WireLoadResult) : reject(new Error(`wire-load failed (${code}): ${err.trim()}`))));
  });
}
