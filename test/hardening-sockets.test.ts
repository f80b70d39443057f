import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the component worker (checked by tsconfig.mjs.json)
import { confineSockets } from '../engine/components/socket-allow.mjs';

// Issue 19's leftover: a component that declared wasi:sockets could reach any address the server can. The
// worker confines preview2-shim's sockets (the ones a component's imports are bound to) with the server's
// --remote-allow list; this drives those very classes.
describe("a component's wasi:sockets (engine/components/socket-allow.mjs)", () => {
  let server: net.Server;
  let port = 0;
  const accepted: net.Socket[] = [];
  const lines: string[] = [];
  let sockets: any;

  beforeAll(async () => {
    server = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    const shim = await import('@bytecodealliance/preview2-shim');
    sockets = confineSockets(shim.sockets, ['10.1.0.0/16'], (l: string) => lines.push(l), 'netfn');
  });
  afterAll(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });

  const v4 = (a: number[], p: number) => ({ tag: 'ipv4', val: { address: a, port: p } });
  const connect = (addr: unknown) => {
    const s = sockets.tcpCreateSocket.createTcpSocket('ipv4');
    return () => s.startConnect(sockets.instanceNetwork.instanceNetwork(), addr);
  };

  it("refuses the server's own port on 127.0.0.1 and the metadata address, access-denied, with a log line naming them", () => {
    expect(connect(v4([127, 0, 0, 1], port))).toThrow('access-denied');
    expect(connect(v4([169, 254, 169, 254], 80))).toThrow('access-denied');
    expect(lines.some((l) => l.includes(`127.0.0.1:${port} refused`) && l.includes('--remote-allow'))).toBe(true);
    expect(lines.some((l) => l.includes("'netfn' connect to 169.254.169.254:80 refused"))).toBe(true);
    expect(accepted).toHaveLength(0);
  });

  it('refuses listening, and UDP to an address outside the list', () => {
    const t = sockets.tcpCreateSocket.createTcpSocket('ipv4');
    expect(() => t.startListen()).toThrow('access-denied');
    const u = sockets.udpCreateSocket.createUdpSocket('ipv4');
    expect(() => u.stream(v4([169, 254, 169, 254], 53))).toThrow('access-denied');
  });

  it('lets a connection to an allowed range through to the shim', () => {
    // 10.1.2.3 is in the list: the refusal is not ours (the shim may fail later, unbound network, no route).
    let err: unknown = null;
    try {
      connect(v4([10, 1, 2, 3], 9))();
    } catch (e) {
      err = e;
    }
    expect(err).not.toBe('access-denied');
  });
});
