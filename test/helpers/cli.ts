import { execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './build.ts';

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs the real `roam` CLI (bin/roam.js) in a child process. */
export function roam(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/roam.js'), ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves with the URL a spawned `roam serve` prints once it listens; rejects if it exits first. */
export function servedUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`roam serve exited with ${code}`)));
  });
}
