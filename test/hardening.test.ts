import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servedUrl } from './helpers/cli.ts';

// Regression tests for the hardening issue: each is named after what broke.
describe('roam serve survives hostile connections', () => {
  let server: ChildProcess;
  let port = 0;
  let exited: number | null | undefined;

  beforeAll(async () => {
    server = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', '--threads', '1', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.on('exit', (code) => { exited = code; });
    port = Number(new URL(await servedUrl(server)).port);
  }, 60_000);
  afterAll(() => { server.kill('SIGTERM'); });

  /** Opens a connection and resolves once it is established, before any byte is sent. */
  function open(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  }

  async function healthz(): Promise<number> {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    await r.arrayBuffer();
    return r.status;
  }

  it('a connection reset before its first byte does not kill the server (ECONNRESET on the shared port)', async () => {
    const victims = await Promise.all(Array.from({ length: 20 }, open));
    expect(await healthz()).toBe(200); // every victim is accepted by now (accept order), none has sent a byte
    for (const s of victims) s.resetAndDestroy(); // SO_LINGER 0: an RST, which the server reads as ECONNRESET
    // A later connection is accepted and read after the resets reached the server (loopback delivers the RST
    // at once), so this answer means the server handled all twenty.
    expect(await healthz()).toBe(200);
    expect(await healthz()).toBe(200);
    expect(exited).toBeUndefined();
  });

  it('a connection reset after a partial HTTP request or wire frame does not kill the server', async () => {
    const http = await open();
    http.write('GET /heal');
    const wire = await open();
    wire.write(Buffer.from([0xb7, 0x01]));
    expect(await healthz()).toBe(200);
    http.resetAndDestroy();
    wire.resetAndDestroy();
    expect(await healthz()).toBe(200);
    expect(exited).toBeUndefined();
  });
});
