import { afterAll, describe, expect, it } from 'vitest';
import { validateManifest } from '../engine/bundle/manifest.ts';
import { ComponentFunction } from '../engine/components/index.ts';
import { envComponent } from './helpers/env-component.ts';

const open: ComponentFunction[] = [];
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});
async function call(bytes: Uint8Array, env?: Record<string, string>): Promise<{ status: number; body: string }> {
  const fn = await ComponentFunction.deploy(bytes, env ? { env } : {});
  open.push(fn);
  const r = await fn.call({ method: 'GET', path: '/', headers: [], body: new Uint8Array() });
  return { status: r.status, body: Buffer.from(r.body).toString('utf8') };
}

// Defect 13: wasi:cli/environment returned the server process's whole environment, ROAM_TOKEN included.
describe("a component's environment", () => {
  it('is empty without a declaration, whatever the server runs with (ROAM_TOKEN=... in the server environment)', async () => {
    const saved = process.env.ROAM_TOKEN;
    process.env.ROAM_TOKEN = 'secret-admin-token';
    try {
      const r = await call(await envComponent());
      expect(r).toEqual({ status: 200, body: '' });
    } finally {
      if (saved === undefined) delete process.env.ROAM_TOKEN;
      else process.env.ROAM_TOKEN = saved;
    }
  }, 60_000);

  it('holds only the declared variables the operator set at deploy, never the server values of the same names', async () => {
    process.env.GREETING = 'from-the-server';
    try {
      const bytes = await envComponent({ env: ['GREETING', 'UNSET'] });
      expect(await call(bytes, { GREETING: 'hello' })).toEqual({ status: 201, body: 'GREETING=hello\n' });
      expect(await call(bytes)).toEqual({ status: 200, body: '' });
    } finally {
      delete process.env.GREETING;
    }
  }, 60_000);

  it('refuses at deploy a value for a variable the manifest does not declare', async () => {
    await expect(ComponentFunction.deploy(await envComponent({ env: ['A'] }), { env: { ROAM_TOKEN: 'x' } })).rejects.toMatchObject({ code: 'E_MANIFEST', message: expect.stringContaining("'ROAM_TOKEN'") });
  }, 60_000);

  it('refuses a manifest env entry that is not a variable name', () => {
    expect(() => validateManifest({ name: 'x', version: '1.0.0', functions: [{ name: 'x' }], env: ['A=B'] })).toThrow(/env\[0\]/);
  });
});
