// A real `roam serve --rdma --dpu-remote` and `roam dpu-agent --rdma` as child processes (the agent
// optionally in another network namespace: helpers/netns.ts), for the remote DPU agent's tests and bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ROAM = join(ROOT, 'bin/roam.js');

export interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
  out(): string;
}

/** Spawns `cmd args`; resolves once stdout or stderr matches `ready` (rejects if it exits first). */
export async function startProc(cmd: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<Proc & { match: RegExpExecArray }> {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const on = (c: Buffer) => {
      text += c;
      const m = ready.exec(text);
      if (m) resolve(m);
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('error', reject);
    void exited.then((code) => reject(new Error(`${args.slice(0, 3).join(' ')} exited with ${code} before it was ready:\n${text.slice(-3000)}`)));
  });
  return { child, exited, out: () => text, match };
}

export interface ServerOptions {
  host: string;
  admin: string;
  /** tenant → token */
  tenants: Record<string, string>;
  env?: Record<string, string>;
  /** `--dpu-remote` (default) or `--dpu` (the local shm agent, for a baseline). */
  dpu?: 'remote' | 'local';
  workers?: number;
}

/** `roam serve --rdma` on port 0; resolves with its URL and port. */
export async function startServer(o: ServerOptions): Promise<Proc & { url: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-dpu-remote-'));
  const tenants = join(dir, 'tenants.json');
  writeFileSync(tenants, JSON.stringify({ tenants: Object.fromEntries(Object.entries(o.tenants).map(([t, token]) => [t, { weight: 1, token }])) }));
  const dpu = o.dpu === 'local' ? ['--dpu'] : ['--dpu-remote'];
  const p = await startProc(process.execPath, [ROAM, 'serve', '--rdma', ...dpu, '--port', '0', '--host', o.host, '--workers', String(o.workers ?? 1), '--tenants', tenants], { ROAM_TOKEN: o.admin, ...o.env }, /serving on (http:\/\/[^\s"]+)/);
  const url = p.match[1]!;
  return { ...p, url, port: Number(new URL(url).port) };
}

/** `roam dpu-agent --rdma` attached to `host:port` (inside `wrap`, e.g. `ip netns exec NS`). */
export function startAgent(host: string, port: number, token: string | null, env: Record<string, string> = {}, wrap: (argv: string[]) => [string, string[]] = (a) => [a[0]!, a.slice(1)]): Promise<Proc> {
  const [cmd, args] = wrap([process.execPath, ROAM, 'dpu-agent', '--connect', `${host}:${port}`, '--rdma']);
  return startProc(cmd, args, token === null ? env : { ...env, ROAM_TOKEN: token }, /attached to .* as its dpu place|refused the agent/);
}

/** PUTs a bundle through the control API. */
export async function deployBundle(url: string, token: string, name: string, bytes: Uint8Array): Promise<void> {
  const r = await fetch(`${url}/v1/bundles/${name}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: Buffer.from(bytes) });
  if (r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
}
