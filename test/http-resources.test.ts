// Resource behaviour of a real gateway: large bodies are held once, oversize uploads are cut off early,
// and an idle server with deployed functions uses no CPU.
import { servedUrl } from './helpers/cli.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { buildFixture, ROOT } from './http-fixtures.ts';

const MiB = 1 << 20;
let gw: Gateway;
let url: string;

beforeAll(async () => {
  gw = await createGateway({ token: 'r', threads: 1, logger: silentLogger, maxBodyBytes: 12 * MiB });
  url = await gw.listen(0);
  const r = await request(`${url}/v1/bundles/bigbody`, { method: 'PUT', body: await buildFixture('test/fixtures/bigbody'), headers: { authorization: 'Bearer r' } });
  expect(r.statusCode, await r.body.text()).toBe(201);
});
afterAll(async () => {
  await gw?.close();
});

/** Peak growth of this process's ArrayBuffer memory while `work` runs (sampled every 2 ms). */
async function peakArrayBuffers<T>(work: () => Promise<T>): Promise<{ peak: number; value: T }> {
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)), 2);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    return { peak, value };
  } finally {
    clearInterval(timer);
  }
}

describe('large bodies', () => {
  it('streams an 8 MiB request body into shared memory once, not into a buffer and then a copy', async () => {
    await request(`${url}/fn/size/`, { method: 'POST', body: 'warm' }).then((r) => r.body.text());
    const body = Buffer.alloc(8 * MiB, 7);
    const { peak, value } = await peakArrayBuffers(async () => {
      const r = await request(`${url}/fn/size/`, { method: 'POST', body });
      return { status: r.statusCode, text: await r.body.text() };
    });
    expect(value).toEqual({ status: 200, text: String(8 * MiB) });
    // One copy of the body (its encoded request in a SharedArrayBuffer) plus the socket's chunks, garbage
    // once copied but not yet collected; the old path (chunks kept, Buffer.concat, then a copy for the
    // worker) held three copies at once.
    expect(peak).toBeLessThan(2.5 * 8 * MiB);
  });

  it('sends an 8 MiB response body from the buffer the worker handed over, without another copy', async () => {
    const { peak, value } = await peakArrayBuffers(async () => {
      const r = await request(`${url}/fn/blob/${8 * MiB}`);
      let n = 0;
      let x = 0;
      for await (const c of r.body) {
        n += (c as Buffer).length;
        for (const b of c as Buffer) if (b === 120) x++;
      }
      return { status: r.statusCode, n, x };
    });
    expect(value).toEqual({ status: 200, n: 8 * MiB, x: 8 * MiB });
    expect(peak).toBeLessThan(3 * 8 * MiB); // the transferred reply, plus what the client side reads
  });

  it('answers 413 as soon as a chunked upload passes the limit, without waiting for its end', async () => {
    const u = new URL(url);
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname, () => {
        s.write('POST /fn/size/ HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n');
        const chunk = Buffer.alloc(MiB, 1);
        for (let i = 0; i < 13; i++) s.write(`${chunk.length.toString(16)}\r\n`), s.write(chunk), s.write('\r\n');
        // never sends the last chunk: the request is still open when the answer comes
      });
      let got = '';
      s.on('data', (c) => {
        got += c.toString('latin1');
        if (got.includes('\r\n\r\n')) (s.destroy(), resolve(got));
      });
      s.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1.1 413/);
    const r = await request(`${url}/fn/size/`, { method: 'POST', body: 'still serving' });
    expect(await r.body.text()).toBe('13');
  });
});

/** CPU seconds (user + system, all threads) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe('idle', () => {
  it.runIf(process.platform === 'linux')('an idle roam serve with deployed functions and chains uses almost no CPU', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--port', '0', '--token', 'i', '--threads', '2'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const base = await servedUrl(child);
      const auth = { authorization: 'Bearer i' };
      const put = await request(`${base}/v1/bundles/bigbody`, { method: 'PUT', body: await buildFixture('test/fixtures/bigbody'), headers: auth });
      expect(put.statusCode, await put.body.text()).toBe(201);
      await (await request(`${base}/v1/chains/twice`, { method: 'PUT', body: JSON.stringify({ steps: ['size', 'size'] }), headers: auth })).body.text();
      for (let i = 0; i < 20; i++) expect(await (await request(`${base}/chain/twice/`, { method: 'POST', body: 'abc' })).body.text()).toBe('1');
      await new Promise((r) => setTimeout(r, 500));
      const c0 = cpuSeconds(child.pid!);
      await new Promise((r) => setTimeout(r, 1500));
      // Event-driven: no thread polls while idle. The bound is generous (ticks are 10 ms).
      expect(cpuSeconds(child.pid!) - c0).toBeLessThan(0.08);
    } finally {
      child.kill('SIGTERM');
    }
  }, 150_000);
});
