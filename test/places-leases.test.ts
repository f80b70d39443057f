// Leases on seqlocks taken over a connection (engine/places/leases.ts): a client process killed while it
// holds a kv slot's lock, a client killed at a random point of client-place puts, and a lease that
// expires while its holder is alive.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../engine/client/index.ts';
import { listenWire } from '../engine/places/server.ts';
import { kvBundle, key, putMsg } from './places-helpers.ts';

type Server = Awaited<ReturnType<typeof listenWire>>;
const started: Server[] = [];
afterAll(async () => {
  for (const s of started) await s.close();
});
async function serve(leaseMs?: number): Promise<Server> {
  const s = await listenWire({ host: { workers: 1 }, ...(leaseMs ? { leaseMs } : {}) });
  s.deploy(await kvBundle());
  started.push(s);
  return s;
}
/** Starts the holder process; resolves once it printed `until` `count` times. */
function holder(args: string[], until: string, count = 1): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./places-lease-holder.ts', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    let n = 0;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l === until && ++n === count) res(child);
      else if (l !== until) rej(new Error(`holder said: ${l}`));
    });
    child.once('exit', (c) => rej(new Error(`holder exited with ${c}`)));
  });
}
const until = async (f: () => boolean | Promise<boolean>) => {
  while (!(await f())) await new Promise((r) => setTimeout(r, 10));
};
/** The kv slot holding `k` (64-byte slots, key at +8) and its version word. */
async function slotOf(c: Awaited<ReturnType<typeof connect>>, k: number): Promise<{ off: number; version: number }> {
  const t = Buffer.from(await c.readRegion('kv', 0, 0, 1 << 20));
  for (let off = 0; off < t.length; off += 64) if (t.readBigUInt64LE(off + 8) === BigInt(k)) return { off, version: t.readUInt32LE(off) };
  throw new Error(`key ${k} not in the table`);
}
const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));

describe('leases on locks held by clients', () => {
  it('breaks the lock of a client process killed while holding a slot mid-put, so the slot reads and writes again', async () => {
    const server = await serve();
    const c = await connect(server.port, { clientPlace: false });
    await c.send('kv/put', putMsg(7, 'before'), { place: 'host' });
    const { off, version } = await slotOf(c, 7);
    const child = await holder(['lock', String(server.port), String(off), String(version)], 'locked');
    // Locked: host readers see a busy slot.
    await expect(c.send('kv/get', key(7), { place: 'host' })).rejects.toThrow(/slot busy/);
    child.kill('SIGKILL');
    await exited(child);
    await until(() => server.stats.leasesBroken === 1);
    expect((await slotOf(c, 7)).version).toBe(version + 2);
    expect(Buffer.from(await c.send('kv/get', key(7), { place: 'host' })).toString()).toBe('before');
    await c.send('kv/put', putMsg(7, 'after'), { place: 'host' });
    expect(Buffer.from(await c.send('kv/get', key(7), { place: 'host' })).toString()).toBe('after');
    c.close();
  }, 60_000);

  it('leaves no slot locked when a client process running client-place puts is killed at a random point', async () => {
    const server = await serve();
    const child = await holder(['puts', String(server.port)], 'ack', 20 + Math.floor(Math.random() * 20));
    child.kill('SIGKILL');
    await exited(child);
    const c = await connect(server.port, { clientPlace: false });
    // Once the server has seen the close, every touched slot is unlocked and readable.
    await until(async () => {
      for (let k = 1; k <= 16; k++) if ((await slotOf(c, k)).version % 2 !== 0) return false;
      return true;
    });
    for (let k = 1; k <= 16; k++) expect(Buffer.from(await c.send('kv/get', key(k), { place: 'host' })).toString()).toMatch(/^v\d{5}$/);
    c.close();
  }, 60_000);

  it('breaks an expired lease of a live client and refuses that client\'s late release', async () => {
    const server = await serve(300);
    const c = await connect(server.port, { clientPlace: false });
    await c.send('kv/put', putMsg(9, 'x'), { place: 'host' });
    const { off, version } = await slotOf(c, 9);
    expect(await c.atomic('kv', 0, 'CAS_U32', off, BigInt(version), BigInt(version + 1))).toBe(BigInt(version));
    await until(() => server.stats.leasesBroken === 1);
    expect((await slotOf(c, 9)).version).toBe(version + 2);
    await expect(c.atomic('kv', 0, 'STORE_U32', off, BigInt(version + 2))).rejects.toMatchObject({ code: 'E_LEASE_EXPIRED' });
    expect(Buffer.from(await c.send('kv/get', key(9), { place: 'host' })).toString()).toBe('x');
    // A lock taken and released in time is not broken.
    const v2 = version + 2;
    await c.atomic('kv', 0, 'CAS_U32', off, BigInt(v2), BigInt(v2 + 1));
    await c.atomic('kv', 0, 'STORE_U32', off, BigInt(v2 + 2));
    expect(server.stats.leasesBroken).toBe(1);
    c.close();
  }, 60_000);
});
