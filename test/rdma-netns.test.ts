// UCX over TCP between two "hosts": two network namespaces joined by a veth pair, made and removed
// here (root needed; CI runs as root). Both ends are child processes of this test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPeer, type Peer } from './helpers/rdma.ts';
import { netnsSkipReason, vethPair, type VethPair } from './helpers/netns.ts';

const why = netnsSkipReason();
if (why && process.env.CI === 'true') throw new Error(`CI must run the netns rdma test: ${why}`);

describe.skipIf(!!why).sequential('rdma between two network namespaces over TCP', () => {
  let a: Peer, b: Peer;
  let pair: VethPair;
  let vethB = '';

  beforeAll(async () => {
    pair = vethPair('roam');
    const { nsA, nsB, vethA } = pair;
    vethB = pair.vethB;
    // UCX over the veth only: its lo address would name the wrong namespace's loopback.
    a = await startPeer({ UCX_TLS: 'tcp', UCX_NET_DEVICES: vethA }, nsA!);
    b = await startPeer({ UCX_TLS: 'tcp', UCX_NET_DEVICES: vethB }, nsB);
    await a.call({ op: 'connect', address: b.hello.address, pid: b.hello.pid, host: b.hello.host });
    await b.call({ op: 'connect', address: a.hello.address, pid: a.hello.pid, host: a.hello.host });
  });

  afterAll(() => {
    for (const p of [a, b]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    pair?.remove();
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
