import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, RoamError, type Deployment } from '../engine/index.ts';
import { bundleOf } from './helpers/build.ts';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
function failure(d: Deployment, name: string, input = new Uint8Array(4)): RoamError {
  try {
    d.call(name, input);
  } catch (e) {
    expect(e).toBeInstanceOf(RoamError);
    return e as RoamError;
  }
  throw new Error(`expected '${name}' to fail`);
}

describe('runtime: bounded execution and fault isolation', () => {
  let d: Deployment;
  beforeAll(async () => {
    d = new Engine().deploy(await bundleOf('test/fixtures/misbehave'));
  });

  it('invokes a handler and returns its reply', () => {
    expect(str(d.invoke('echo', text('ping')))).toBe('ping');
  });

  it('stops an infinite loop with fuel exhausted', () => {
    const e = failure(d, 'spin');
    expect(e.code).toBe('E_FUEL');
    expect(e.message).toBe("fuel exhausted: 'spin' used more than its 1000000 fuel per message");
  });

  it('stops unbounded recursion', () => {
    const e = failure(d, 'recurse');
    expect(['E_STACK', 'E_FUEL']).toContain(e.code);
    expect(e.message).toMatch(/recurse/);
  });

  it('traps memory growth past the limit', () => {
    const e = failure(d, 'grow');
    expect(e.code).toBe('E_MEMORY_LIMIT');
    expect(e.message).toMatch(/memory limit exceeded: 'grow' tried to grow memory past its limit of \d+ pages/);
  });

  it('reports the memory limit in E_MEMORY_LIMIT, not the size reached (regression: "past 1 pages" with a limit of 16)', () => {
    const e = failure(d, 'grow');
    const limit = JSON.parse(readFileSync('test/fixtures/misbehave/roam.json', 'utf8')).limits.memoryPages as number;
    expect(e.message).toContain(`past its limit of ${limit} pages (${limit * 64} KiB`);
  });

  it('reports a trap and a guest abort with its message and location', () => {
    expect(failure(d, 'boom')).toMatchObject({ code: 'E_TRAP', message: "'boom' trapped: unreachable" });
    const e = failure(d, 'raise');
    expect(e.code).toBe('E_GUEST_ABORT');
    expect(e.message).toMatch(/guest aborted: raised on purpose at .*index\.ts:\d+:\d+/);
  });

  it('reports an application error without replacing the instance', () => {
    d.invoke('echo', text('warm'));
    const before = d.stats.instancesCreated;
    const e = failure(d, 'refuse');
    expect(e).toMatchObject({ code: 'E_HANDLER', message: "'refuse' failed with code 409: refused on purpose" });
    expect(d.stats.instancesCreated).toBe(before);
  });

  it('keeps serving after every kind of fault, replacing only trapped instances', () => {
    const before = { ...d.stats };
    for (const bad of ['spin', 'boom', 'grow', 'raise']) {
      failure(d, bad);
      expect(str(d.invoke('echo', text(`after ${bad}`)))).toBe(`after ${bad}`);
    }
    expect(d.stats.traps - before.traps).toBe(4);
    expect(d.stats.instancesCreated - before.instancesCreated).toBe(4);
  });

  it('charges fuel in proportion to the work done', () => {
    const small = d.call('count', new Uint8Array([10])).fuelUsed;
    const large = d.call('count', new Uint8Array([200])).fuelUsed;
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small * 10);
  });

  it('refuses an unknown entry point, listing the known ones', () => {
    expect(() => d.call('nope', new Uint8Array())).toThrow(/has no handler or function 'nope' \(has: echo, spin/);
  });

  it('caps fuel per message at the engine limit', async () => {
    const capped = new Engine({ limits: { maxFuel: 5000 } }).deploy(await bundleOf('test/fixtures/misbehave'));
    expect(capped.fuelBudget).toBe(5000);
    expect(failure(capped, 'spin').message).toMatch(/5000 fuel/);
  });
});

describe('runtime: state lives in regions, shared across instances', () => {
  it('kv keeps every put across an instance replacement', async () => {
    const engine = new Engine();
    const kv = engine.deploy(await bundleOf('functions/kv'));
    const key = (k: number, v = '') => { const b = Buffer.alloc(8 + v.length); b.writeBigUInt64LE(BigInt(k)); b.write(v, 8); return new Uint8Array(b); };
    for (let i = 1; i <= 2000; i++) kv.invoke('put', key(i, `v${i}`));
    // A second deployment of the same bundle in the same engine sees the same region bytes.
    const again = engine.deploy(await bundleOf('functions/kv'));
    for (let i = 1; i <= 2000; i++) expect(str(again.invoke('get', key(i)))).toBe(`v${i}`);
    expect(failure(kv, 'get', key(999_999)).message).toMatch(/code 404: not found/);
    kv.invoke('del', key(5));
    expect(failure(again, 'get', key(5)).code).toBe('E_HANDLER');
    expect(failure(kv, 'put', key(1, 'x'.repeat(49))).message).toMatch(/413/);
    expect(failure(kv, 'get', new Uint8Array(3)).message).toMatch(/400/);
  });
});
