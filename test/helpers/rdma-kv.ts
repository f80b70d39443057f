// The kv bundle at the client place with its region reached over UCX (engine/rdma/remote-io.ts), and,
// run as a script, a second such client that keeps rewriting keys (the concurrent writer).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Engine, type Deployment } from '../../engine/runtime/engine.ts';
import { RegionStore } from '../../engine/regions/region-store.ts';
import { remoteRegions } from '../../engine/client/remote-regions.ts';
import { rdmaRemoteIo } from '../../engine/rdma/remote-io.ts';
import type { RemoteRegion } from '../../engine/rdma/endpoint.ts';
import { RdmaWorker } from '../../engine/rdma/worker.ts';

/** kv deployed at a client place whose region 0 (`table`) is `remote`. */
export function kvOver(remote: RemoteRegion, bundle: Uint8Array): Deployment {
  const engine = new Engine({ regions: new RegionStore((_k, size) => new ArrayBuffer(size)), capabilities: [remoteRegions(rdmaRemoteIo([remote]))] });
  return engine.deploy(bundle);
}

/** kv deployed over a mapped remote table (RemoteRegion.map): the guest reads it as local memory. */
export function kvOnMapped(table: SharedArrayBuffer, bundle: Uint8Array): Deployment {
  return new Engine({ regions: new RegionStore(() => table) }).deploy(bundle);
}

export const kvKey = (k: number, value?: Uint8Array): Uint8Array => {
  const b = new Uint8Array(8 + (value?.length ?? 0));
  new DataView(b.buffer).setBigUint64(0, BigInt(k), true);
  if (value) b.set(value, 8);
  return b;
};

// As a script: one JSON line in ({ address, pid, host, key, bundle, keys, rounds }), puts `keys` keys
// `rounds` times (value: 48 bytes all equal to the round), then one line out.
if (process.argv[1]?.endsWith('rdma-kv.ts')) {
  createInterface({ input: process.stdin }).once('line', (line) => {
    const c = JSON.parse(line) as { address: string; pid: number; host: string; key: string; bundle: string; keys: number; rounds: number };
    const w = RdmaWorker.open();
    const ep = w.connect({ address: Buffer.from(c.address, 'hex'), pid: c.pid, host: c.host });
    const kv = kvOver(ep.unpack(Buffer.from(c.key, 'hex')), readFileSync(c.bundle));
    process.stdout.write(JSON.stringify({ writing: true }) + '\n');
    let puts = 0, busy = 0;
    for (let r = 1; r <= c.rounds; r++) {
      for (let k = 1; k <= c.keys; k++) {
        try { kv.call('put', kvKey(k, new Uint8Array(48).fill(r & 0xff))); puts++; }
        catch (e) { if (!/busy/.test(String(e))) throw e; busy++; }
      }
    }
    process.stdout.write(JSON.stringify({ done: true, puts, busy }) + '\n');
    w.close();
    process.exit(0);
  });
}
