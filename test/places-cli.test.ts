import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../engine/client/index.ts';
import { nativeNet } from '../engine/wire/native-net.ts';
import { kvBundle, key, putMsg } from './places-helpers.ts';

describe('roam serve: HTTP and the wire protocol on one port', () => {
  it.each(['native', 'node'])('serves a bundle over the wire protocol (--net %s) and HTTP on the same port, and exits 0 on SIGTERM', async (netMode) => {
    const file = join(tmpdir(), `roam-kv-cli-${process.pid}.wasm`);
    writeFileSync(file, await kvBundle());
    const p = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--threads', '1', '--bundle', file, '--port', '0', '--workers', '1', '--net', netMode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const port = await new Promise<number>((res, rej) => {
      p.stdout.on('data', (c) => {
        out += c;
        const m = /serving on http:\/\/[\d.]+:(\d+)/.exec(out);
        if (m) res(Number(m[1]));
      });
      p.once('exit', (code) => rej(new Error(`exited ${code}: ${out}`)));
    });
    expect(out).toContain('handlers of kv (bundle id 0): get, put, del');
    const c = await connect(`roam://127.0.0.1:${port}`, { clientPlace: false });
    await c.send('kv/put', putMsg(42, 'answer'));
    expect(Buffer.from(await c.send('kv/get', key(42))).toString()).toBe('answer');
    // The connection went where --net says (the first bytes, read by the port's HTTP/wire check, included).
    const { stats } = (await c.stats()) as { stats: { connections: number; nativeConnections: number } };
    expect(stats.nativeConnections).toBe(netMode === 'native' && nativeNet() ? stats.connections : 0);
    c.close();
    // The same port answers HTTP.
    const health = await fetch(`http://127.0.0.1:${port}/v1/bundles`);
    expect(health.status).toBe(200);
    expect(await health.json()).toBeDefined();
    const code = await new Promise<number | null>((res) => {
      p.once('exit', res);
      p.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });

  it('refuses a bundle file it cannot read, naming it', async () => {
    const p = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', '--bundle', '/no/such.wasm'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((res) => p.once('exit', res));
    expect(code).not.toBe(0);
    expect(err).toMatch(/no\/such\.wasm/);
  });

  it('refuses bad wire flags with a usage error naming the flag', async () => {
    for (const [flag, value] of [['--inline-us', '-1'], ['--workers', '0'], ['--max-frame', 'big'], ['--net', 'dpdk']]) {
      const p = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', flag!, value!], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (c) => (err += c));
      const code = await new Promise<number | null>((res) => p.once('exit', res));
      expect(code).toBe(2);
      expect(err).toContain(flag);
    }
  });

  it('refuses --dpu-remote without --rdma, and beside --dpu, naming the flags', async () => {
    for (const [flags, says] of [[['--dpu-remote'], '--rdma'], [['--dpu-remote', '--rdma', '--dpu'], '--dpu']] as const) {
      const p = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (c) => (err += c));
      const code = await new Promise<number | null>((res) => p.once('exit', res));
      expect(code).toBe(2);
      expect(err).toContain('--dpu-remote');
      expect(err).toContain(says);
    }
  });
});
