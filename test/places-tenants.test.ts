import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { embedManifest } from '../engine/bundle/bundle.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';

describe('many tenants in one server', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let client: Client;
  beforeAll(async () => {
    server = await listenWire({ host: { workers: 2 } });
    const hello = await buildProject('functions/hello', { outFile: join(tmpdir(), `roam-hello-${process.pid}.wasm`) });
    for (let i = 0; i < 500; i++) server.deploy(embedManifest(hello.bytes, { ...hello.manifest, name: `tenant-${i}`, tenant: `t${i}` }));
    client = await connect(server.port);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('deploys 500 bundles side by side and routes each message to its own tenant', async () => {
    expect(server.table.size).toBe(500);
    const picks = [0, 1, 250, 498, 499];
    const replies = await Promise.all(picks.map((i) => client.call(`tenant-${i}/hello`, Buffer.from(`from ${i}`))));
    for (const r of replies) expect(r.bytes.length).toBeGreaterThan(0);
    const ids = await Promise.all(picks.map((i) => client.resolve(`tenant-${i}`)));
    expect(new Set(ids.map((x) => x.id)).size).toBe(picks.length);
    expect(ids.map((x) => x.manifest.name)).toEqual(picks.map((i) => `tenant-${i}`));
  });
});
