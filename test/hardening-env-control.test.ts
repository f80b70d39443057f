import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOf } from './helpers/build.ts';
import { roam, servedUrl } from './helpers/cli.ts';
import { envComponent } from './helpers/env-component.ts';

const ADMIN = 'admin-secret-token';
const dir = mkdtempSync(join(tmpdir(), 'roam-env-'));
const state = join(dir, 'state');
const tenantsFile = join(dir, 'tenants.json');
writeFileSync(tenantsFile, JSON.stringify({ tenants: { a: { weight: 1, token: 'a-token' }, b: { weight: 1, token: 'b-token' } } }));

let server: ChildProcess;
let url = '';
async function start(): Promise<void> {
  // The server's own environment holds the admin token and values of the component's declared names:
  // none of them may reach the guest.
  server = spawn(process.execPath, ['bin/roam.js', 'serve', '--port', '0', '--threads', '1', '--workers', '1', '--state', state, '--tenants', tenantsFile], {
    env: { ...process.env, ROAM_TOKEN: ADMIN, GREETING: 'from-the-server', MODE: 'server-mode' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await servedUrl(server);
}
async function stop(): Promise<void> {
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await exited;
}

const as = (token: string) => ({ authorization: `Bearer ${token}` });
async function putEnv(body: string, token = 'a-token', name = 'envfn'): Promise<{ status: number; json: { env?: string[]; error?: string; message?: string } }> {
  const r = await fetch(`${url}/v1/env/${name}`, { method: 'PUT', headers: as(token), body });
  return { status: r.status, json: (await r.json()) as { env?: string[]; error?: string } };
}
async function environment(): Promise<string> {
  const r = await fetch(`${url}/fn/envfn`, { headers: as('a-token') });
  expect(r.status).toBeLessThan(300);
  return r.text();
}

beforeAll(async () => {
  await start();
  const put = await fetch(`${url}/v1/bundles/envfn`, { method: 'PUT', headers: as('a-token'), body: Buffer.from(await envComponent({ tenant: 'a', env: ['GREETING', 'MODE'] })) });
  expect(put.status, await put.text()).toBe(201);
}, 120_000);
afterAll(async () => {
  await stop();
});

// Issue 19's leftover: a component's declared variables had no way to get values over HTTP.
describe('operator-set component environment over the control API (PUT /v1/env/NAME)', () => {
  it('starts empty: the server environment (ROAM_TOKEN, GREETING, MODE) never reaches the guest', async () => {
    expect(await environment()).toBe('');
  });

  it('sets the declared variables as the owning tenant; the component sees exactly those values', async () => {
    expect(await putEnv(JSON.stringify({ GREETING: 'hello' }))).toEqual({ status: 200, json: { bundle: 'envfn', env: ['GREETING'] } });
    expect(await environment()).toBe('GREETING=hello\n');
  });

  it('refuses an undeclared name, a non-string value, an oversized value and a non-object, and keeps the values in force', async () => {
    const undeclared = await putEnv(JSON.stringify({ GREETING: 'x', ROAM_TOKEN: 'steal' }));
    expect(undeclared.status).toBe(400);
    expect(undeclared.json).toMatchObject({ error: 'E_ENV', message: expect.stringContaining("'ROAM_TOKEN'") });
    expect((await putEnv(JSON.stringify({ GREETING: 5 }))).json.error).toBe('E_ENV');
    expect((await putEnv(JSON.stringify({ GREETING: 'x'.repeat(5000) }))).json).toMatchObject({ error: 'E_ENV', message: expect.stringContaining('4096') });
    expect((await putEnv('["GREETING"]')).json.error).toBe('E_ENV');
    expect((await putEnv('{not json')).status).toBe(400);
    expect(await environment()).toBe('GREETING=hello\n');
  });

  it("refuses another tenant (403) and anyone without a token (401); the admin may set them", async () => {
    expect((await putEnv(JSON.stringify({ GREETING: 'b-was-here' }), 'b-token')).status).toBe(403);
    expect((await fetch(`${url}/v1/env/envfn`, { method: 'PUT', body: '{}' })).status).toBe(401);
    expect(await environment()).toBe('GREETING=hello\n');
    expect((await putEnv(JSON.stringify({ GREETING: 'hi', MODE: 'prod' }), ADMIN)).status).toBe(200);
    expect(await environment()).toBe('GREETING=hi\nMODE=prod\n');
  });

  it('refuses a bundle that is not a component, and one that does not exist', async () => {
    const hello = await fetch(`${url}/v1/bundles/hello`, { method: 'PUT', headers: as(ADMIN), body: Buffer.from(await bundleOf('functions/hello')) });
    expect(hello.status).toBe(201);
    expect((await putEnv('{}', ADMIN, 'hello')).json.error).toBe('E_ENV');
    expect((await putEnv('{}', ADMIN, 'nobody')).status).toBe(404);
  }, 120_000);

  it('roam deploy --env sets them at deploy (the whole set replaced), kept across a restart with --state', async () => {
    const file = join(dir, 'envfn.wasm');
    writeFileSync(file, await envComponent({ tenant: 'a', env: ['GREETING', 'MODE'], version: '1.0.1' }));
    const r = await roam(['deploy', file, '--env', 'MODE=a=b', '--server', url, '--token', 'a-token']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('environment of envfn: MODE');
    expect(await environment()).toBe('MODE=a=b\n');
    expect((await roam(['deploy', file, '--env', 'NOPE', '--server', url, '--token', 'a-token'])).code).not.toBe(0);
    await stop();
    await start();
    expect(await environment()).toBe('MODE=a=b\n');
  }, 120_000);
});
