// The CLI end to end: roam serve, deploy, invoke, ls, rm as real processes.
import { servedUrl } from './helpers/cli.ts';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, ROOT } from './http-fixtures.ts';

const run = promisify(execFile);
let server: ChildProcess;
let url: string;
let dir: string;
let env: NodeJS.ProcessEnv;

async function roam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return roamEnv(env, ...args);
}
async function roamEnv(e: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(ROOT, 'bin/roam.js'), ...args], { env: e, timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roam-cli-'));
  writeFileSync(join(dir, 'fnkit.wasm'), await buildFixture('test/fixtures/fnkit'));
  writeFileSync(join(dir, 'roam.chains.json'), JSON.stringify({ chains: { shout: { steps: ['upper', 'exclaim'] } } }));
  writeFileSync(join(dir, 'body.txt'), 'from a file');
  server = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--port', '0', '--threads', '1'], { env: { ...process.env, ROAM_TOKEN: 'cli-secret' }, stdio: ['ignore', 'pipe', 'pipe'] });
  url = await servedUrl(server);
  env = { ...process.env, ROAM_SERVER: url, ROAM_TOKEN: 'cli-secret' };
});
afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('roam CLI against roam serve', () => {
  it('deploys a bundle with its chains, invokes, lists and removes', async () => {
    const d = await roam('deploy', join(dir, 'fnkit.wasm'), '--chains', join(dir, 'roam.chains.json'));
    expect(d.stderr).toBe('');
    expect(d.stdout).toMatch(/deployed fnkit@1\.0\.0 \(tenant default/);
    expect(d.stdout).toMatch(/chain shout: upper → exclaim/);
    expect((await roam('invoke', 'echo', '/a/b', '--data', '@' + join(dir, 'body.txt'))).stdout).toBe('POST /a/b|from a file');
    expect((await roam('invoke', 'shout', '--chain', '--data', 'hey')).stdout).toBe('HEY!');
    const ls = await roam('ls');
    expect(ls.stdout).toMatch(/^NAME\s+VERSION\s+TENANT\s+HASH\s+PLACES\s+HANDLERS\s+FUNCTIONS$/m);
    expect(ls.stdout).toMatch(/^fnkit\s+1\.0\.0\s+default\s+[0-9a-f]{12}\s+host\s+-\s+echo, spin/m);
    expect(ls.stdout).toMatch(/chain shout: upper → exclaim/);
    const bad = await roam('invoke', 'spin');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/E_FUEL/);
    expect((await roam('rm', 'fnkit')).stdout).toBe('removed fnkit\n');
    expect((await roam('ls')).stdout).not.toMatch(/fnkit/);
  }, 180_000); // nine CLI processes, each loading tsx: slow when the machine is shared

  it('reports a wrong token and an unreachable server in one line', async () => {
    const r = await roam('ls', '--token', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('roam ls: invalid token (HTTP 401)\n');
    const off = await roam('ls', '--server', 'http://127.0.0.1:1');
    expect(off.code).toBe(1);
    expect(off.stderr).toMatch(/^roam ls: cannot reach http:\/\/127\.0\.0\.1:1/);
  });

  it('refuses to serve without a token unless --no-auth is given', async () => {
    const { ROAM_TOKEN: _, ...noToken } = env;
    const r = await roamEnv(noToken, 'serve', '--port', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give --token T \(or ROAM_TOKEN\), or --no-auth/);
  });
});
