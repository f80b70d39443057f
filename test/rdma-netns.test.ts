// UCX over TCP between two "hosts": two network namespaces joined by a veth pair, made and removed
// here (root needed; CI runs as root). Both ends are child processes of this test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { rdmaAvailable } from '../engine/rdma/worker.ts';
import { startPeer, type Peer } from './helpers/rdma.ts';

function reasonToSkip(): string {
  if (!rdmaAvailable()) return 'the roam_ucx addon is not built (install libucx-dev, then npm run build:native)';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'no `ip` command (iproute2)';
  return '';
}
const why = reasonToSkip();
if (why && process.env.CI === 'true') throw new Error(`CI must run the netns rdma test: ${why}`);

const tag = process.pid % 10000;
const nsA = `roamA${tag}`, nsB = `roamB${tag}`, vethA = `rva${tag}`, vethB = `rvb${tag}`;
const net = `10.231.${tag % 250}`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

describe.skipIf(!!why).sequential('rdma between two network namespaces over TCP', () => {
  let a: Peer, b: Peer;

  beforeAll(async () => {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB);
    ip('link', 'set', vethA, 'netns', nsA);
    ip('link', 'set', vethB, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', `${net}.1/30`, 'dev', vethA);
    ip('-n', nsB, 'addr', 'add', `${net}.2/30`, 'dev', vethB);
    for (const [ns, dev] of [[nsA, vethA], [nsB, vethB]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    // UCX over the veth only: its lo address would name the wrong namespace's loopback.
    a = await startPeer({ UCX_TLS: 'tcp', UCX_NET_DEVICES: vethA }, nsA);
    b = await startPeer({ UCX_TLS: 'tcp', UCX_NET_DEVICES: vethB }, nsB);
    await a.call({ op: 'connect', address: b.hello.address, pid: b.hello.pid, host: b.hello.host });
    await b.call({ op: 'connect', address: a.hello.address, pid: a.hello.pid, host: a.hello.host });
  });

  afterAll(() => {
    for (const p of [a, b]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns]); // takes the veth pair with it
  });

  it('sees the other namespace as another host and reaches it through the veth', async () => {
    expect(a.hello.host).not.toBe(b.hello.host);
    const r = await b.call({ op: 'unpack', key: a.hello.key });
    expect(r.mode).toBe('am');
    expect((r.lanes as { all: string[] }).all).toEqual([`tcp/${vethB}`]);
  });

  it('reads and writes the other host\'s region', async () => {
    expect((await b.call({ op: 'rread', off: 16, len: 16 })).bytes).toBe('101112131415161718191a1b1c1d1e1f');
    await b.call({ op: 'rwrite', off: 500, bytes: 'c0ffee' });
    expect((await a.call({ op: 'read', off: 500, len: 3 })).bytes).toBe('c0ffee');
  });

  it('keeps fetch-add atomic under a concurrent writer at the owner', async () => {
    await a.call({ op: 'fill', off: 4096, len: 8, byte: 0 });
    await a.call({ op: 'writer', off: 4096, n: 10000, cas: false });
    expect(await b.call({ op: 'rfadd', off: 4096, n: 1000 })).toMatchObject({ distinct: 1000 });
    await a.next((m) => 'writerDone' in m);
    expect((await a.call({ op: 'u64', off: 4096 })).value).toBe('11000');
  });

  it('sends active messages across, eager and rendezvous', async () => {
    await a.call({ op: 'echo', id: 7 });
    expect(await b.call({ op: 'rping', id: 7, size: 64 })).toEqual({ echoed: 64 });
    expect(await b.call({ op: 'rping', id: 7, size: 300_000 })).toEqual({ echoed: 300_000 });
  });

  it('gives the client a clear error, not a hang, when the other host\'s process is killed', async () => {
    const result = b.call({ op: 'rloop' }, (m) => 'loopError' in m);
    await b.next((m) => 'looping' in m);
    a.child.kill('SIGKILL');
    await a.exited;
    const r = await result;
    expect(r.loopError).toBe('E_RDMA_PEER');
    expect(await b.next((m) => m.event === 'peer-error')).toMatchObject({ code: 'E_RDMA_PEER' });
  });
});
