import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildExamples } from '../engine/mpi/build-examples.ts';

export const ROAM = fileURLToPath(new URL('../bin/roam.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, collecting its output. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

export const roam = (...args: string[]) => run(process.execPath, [ROAM, ...args]);

/** Builds the functions/mpi examples a test file uses (default: all) once, into a fresh temp dir. */
export async function examples(names?: readonly string[]): Promise<Record<string, string>> {
  return buildExamples(mkdtempSync(join(tmpdir(), 'roam-mpi-')), names);
}
/** beforeAll's limit for building examples: clang + wasm-ld + wasm-opt per program on a loaded 2-core machine. */
export const BUILD_TIMEOUT_MS = 300_000;
