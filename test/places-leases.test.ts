// Leases on seqlocks taken over a connection (engine/places/leases.ts): a client process killed while it
// holds a kv slot's lock, a client killed at a random point of client-place puts, and a lease that
// expires while its holder is alive; the undo log that rolls back a holder's partial writes when its
// lease is broken.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
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
const slot = async (c: Awaited<ReturnType<typeof connect>>, off: number) => Buffer.from(await c.readRegion('kv', 0, off, 64));
/** The first 14 bytes of a new record for key `k` (written at slot + 4): length 9 ('new value'), key, "ne". */
const half = (k: number) => {
  const b = Buffer.alloc(14);
  b.writeUInt32LE(9);
  b.writeBigUInt64LE(BigInt(k), 4);
  b.write('ne', 12);
  return b;
};
const get = async (c: Awaited<ReturnType<typeof connect>>, k: number) => Buffer.from(await c.send('kv/get', key(k), { place: 'host' })).toString();
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

describe('undo log: a broken lease rolls back the holder\'s partial writes', () => {
  it('restores the old record when a client process is killed after writing half of a new one', async () => {
    const server = await serve();
    const c = await connect(server.port, { clientPlace: false });
    await c.send('kv/put', putMsg(11, 'before'), { place: 'host' });
    const { off, version } = await slotOf(c, 11);
    const pre = await slot(c, off);
    const child = await holder(['half', String(server.port), String(off), String(version), '11'], 'wrote');
    const torn = await slot(c, off);
    expect(torn.readUInt32LE(0)).toBe(version + 1);
    expect(torn.readUInt32LE(4)).toBe(9); // the half record landed
    child.kill('SIGKILL');
    await exited(child);
    await until(() => server.stats.leasesBroken === 1);
    const after = await slot(c, off);
    expect(after.readUInt32LE(0)).toBe(version + 2);
    expect(after.subarray(4)).toEqual(pre.subarray(4));
    expect(server.stats.undoRestored).toBe(14);
    expect(await get(c, 11)).toBe('before');
    c.close();
  }, 60_000);

  it('restores the old record when the lease of a live holder expires, and refuses the holder\'s next write or release', async () => {
    const server = await serve(300);
    const c = await connect(server.port, { clientPlace: false });
    const h = await connect(server.port, { clientPlace: false });
    await c.send('kv/put', putMsg(12, 'before'), { place: 'host' });
    const { off, version } = await slotOf(c, 12);
    const pre = await slot(c, off);
    // Round 1: the holder's next write is refused and does not land.
    expect(await h.atomic('kv', 0, 'CAS_U32', off, BigInt(version), BigInt(version + 1))).toBe(BigInt(version));
    await h.writeRegion('kv', 0, off + 4, half(12));
    await until(() => server.stats.leasesBroken === 1);
    expect((await slot(c, off)).readUInt32LE(0)).toBe(version + 2);
    expect((await slot(c, off)).subarray(4)).toEqual(pre.subarray(4));
    expect(await get(c, 12)).toBe('before');
    await expect(h.writeRegion('kv', 0, off + 16, Buffer.from('w value'))).rejects.toMatchObject({ code: 'E_LEASE_EXPIRED' });
    expect((await slot(c, off)).subarray(4)).toEqual(pre.subarray(4));
    // Round 2: the holder's late release is refused; the word stays at the broken version.
    const v2 = version + 2;
    expect(await h.atomic('kv', 0, 'CAS_U32', off, BigInt(v2), BigInt(v2 + 1))).toBe(BigInt(v2));
    await h.writeRegion('kv', 0, off + 4, half(12));
    await until(() => server.stats.leasesBroken === 2);
    await expect(h.atomic('kv', 0, 'STORE_U32', off, BigInt(v2 + 2))).rejects.toMatchObject({ code: 'E_LEASE_EXPIRED' });
    const after = await slot(c, off);
    expect(after.readUInt32LE(0)).toBe(v2 + 2);
    expect(after.subarray(4)).toEqual(pre.subarray(4));
    expect(await get(c, 12)).toBe('before');
    expect(server.stats.undoRestored).toBe(28);
    c.close();
    h.close();
  }, 60_000);

  it('keeps a completed update (no rollback) and logs nothing for writes made without a lease', async () => {
    const server = await serve();
    const c = await connect(server.port, { clientPlace: false });
    await c.send('kv/put', putMsg(13, 'before'), { place: 'host' });
    const { off, version } = await slotOf(c, 13);
    const pre = await slot(c, off);
    await c.writeRegion('kv', 0, off + 4, pre.subarray(4)); // no lease: same bytes, not logged
    expect(server.stats.undoLogged).toBe(0);
    await c.atomic('kv', 0, 'CAS_U32', off, BigInt(version), BigInt(version + 1));
    await c.writeRegion('kv', 0, off + 4, half(13));
    await c.writeRegion('kv', 0, off + 18, Buffer.from('w value'));
    expect(server.stats.undoLogged).toBe(21);
    await c.atomic('kv', 0, 'STORE_U32', off, BigInt(version + 2));
    await c.writeRegion('kv', 0, off + 4, (await slot(c, off)).subarray(4)); // lease released: not logged
    expect(server.stats.undoLogged).toBe(21);
    expect(await get(c, 13)).toBe('new value');
    c.close();
    const d = await connect(server.port, { clientPlace: false });
    await new Promise((r) => setTimeout(r, 100));
    expect(server.stats.leasesBroken).toBe(0);
    expect(server.stats.undoRestored).toBe(0);
    expect(await get(d, 13)).toBe('new value');
    d.close();
  }, 60_000);

  it('keeps the writes of a lock released mid-update and rolls back those of a lock still held', async () => {
    const server = await serve();
    const c = await connect(server.port, { clientPlace: false });
    const h = await connect(server.port, { clientPlace: false });
    await c.send('kv/put', putMsg(16, 'before'), { place: 'host' });
    await c.send('kv/put', putMsg(17, 'before'), { place: 'host' });
    const a = await slotOf(c, 16), b = await slotOf(c, 17);
    const preB = await slot(c, b.off);
    await h.atomic('kv', 0, 'CAS_U32', a.off, BigInt(a.version), BigInt(a.version + 1));
    await h.atomic('kv', 0, 'CAS_U32', b.off, BigInt(b.version), BigInt(b.version + 1));
    await h.writeRegion('kv', 0, a.off + 4, half(16));
    await h.writeRegion('kv', 0, a.off + 18, Buffer.from('w value'));
    await h.writeRegion('kv', 0, b.off + 4, half(17));
    await h.atomic('kv', 0, 'STORE_U32', a.off, BigInt(a.version + 2));
    h.close();
    await until(() => server.stats.leasesBroken === 1);
    expect(server.stats.undoRestored).toBe(14);
    expect(await get(c, 16)).toBe('new value');
    expect((await slot(c, b.off)).subarray(4)).toEqual(preB.subarray(4));
    expect(await get(c, 17)).toBe('before');
    c.close();
  }, 60_000);

  it('refuses a write that would grow the undo log past its cap, keeps serving, and still rolls back', async () => {
    const server = await serve();
    const c = await connect(server.port, { clientPlace: false });
    const h = await connect(server.port, { clientPlace: false });
    await c.send('kv/put', putMsg(14, 'before'), { place: 'host' });
    const { off, version } = await slotOf(c, 14);
    const pre = await slot(c, off);
    const base = off < 512 * 1024 ? 600 * 1024 : 100 * 1024; // a stretch of the table away from the slot
    const spare = Buffer.from(await c.readRegion('kv', 0, base, 70_000));
    await h.atomic('kv', 0, 'CAS_U32', off, BigInt(version), BigInt(version + 1));
    await h.writeRegion('kv', 0, off + 4, half(14));
    await h.writeRegion('kv', 0, base, Buffer.alloc(40_000, 0xab));
    const refused = h.writeRegion('kv', 0, base + 40_000, Buffer.alloc(30_000, 0xcd));
    await expect(refused).rejects.toMatchObject({ code: 'E_LEASE_UNDO_FULL' });
    await expect(refused).rejects.toThrow(/undo log past 65536 bytes/);
    expect(Buffer.from(await c.readRegion('kv', 0, base + 40_000, 30_000))).toEqual(spare.subarray(40_000));
    // Both connections still work.
    expect(await h.atomic('kv', 0, 'LOAD_U32', off, 0n)).toBe(BigInt(version + 1));
    await c.send('kv/put', putMsg(15, 'other'), { place: 'host' });
    expect(await get(c, 15)).toBe('other');
    // The holder goes away: everything it wrote under the lock is rolled back.
    h.close();
    await until(() => server.stats.leasesBroken === 1);
    expect(server.stats.undoRestored).toBe(40_014);
    expect(Buffer.from(await c.readRegion('kv', 0, base, 70_000))).toEqual(spare);
    const after = await slot(c, off);
    expect(after.readUInt32LE(0)).toBe(version + 2);
    expect(after.subarray(4)).toEqual(pre.subarray(4));
    expect(await get(c, 14)).toBe('before');
    c.close();
  }, 60_000);
});
