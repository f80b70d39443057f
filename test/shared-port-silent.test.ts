import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import net from 'node:net';
import { shareHttpPort } from '../engine/server/shared-port.ts';

// Regression: a connection that never sends a byte (chromium's unused preconnect did it in the dashboard
// tests) is known to neither HTTP nor the wire server, so closeAllConnections() missed it and the shared
// port's server.close() waited for it forever.
describe('shared port: silent connections', () => {
  it('close() does not wait for a connection that never sent its first byte (a browser preconnect)', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    const wired: net.Socket[] = [];
    const port = shareHttpPort(server, (s) => wired.push(s));
    const accepted: net.Socket[] = [];
    server.on('connection', (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port: p } = server.address() as net.AddressInfo;
    const silent = net.connect(p, '127.0.0.1');
    await new Promise((r) => silent.once('connect', r));
    // A request on another connection still works beside it.
    expect(await (await fetch(`http://127.0.0.1:${p}/`)).text()).toBe('ok');
    const ended = new Promise((r) => silent.once('close', r));
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    // Still open after closeAllConnections (HTTP never saw it); dropSilent ends it at once, not after
    // FIRST_BYTE_MS.
    const quiet = accepted.filter((s) => s.bytesRead === 0);
    expect(quiet).toHaveLength(1);
    expect(quiet[0]!.destroyed).toBe(false);
    port.dropSilent();
    expect(quiet[0]!.destroyed).toBe(true);
    await closed;
    await ended; // the peer sees its connection end
    expect(wired).toHaveLength(0);
  });
});
