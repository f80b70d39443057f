// One measurement for benchmarks/metrics-cost.ts: host-pool messages per second through `server.dispatch`
// (routing, slot table, rings, completion, EWMAs: the path /metrics' counters were added to), with the
// engine loaded from the checkout named on the command line. Prints one number.
import { pathToFileURL } from 'node:url';

const root = process.argv[2]!;
const n = Number(process.argv[3] ?? 200_000);
const { listenWire } = await import(pathToFileURL(`${root}/engine/places/server.ts`).href);
const { cachedBuild } = await import(pathToFileURL(`${root}/engine/build/cached-build.ts`).href);
const server = await listenWire({ host: { workers: 2 } });
const id = server.deploy(await cachedBuild('functions/kv')).id;
const keys = Array.from({ length: 10_000 }, (_, i) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(i + 1));
  return b;
});
const run = (count: number) =>
  new Promise<number>((resolve) => {
    let sent = 0, got = 0;
    const t0 = performance.now();
    const next = () => {
      got++;
      if (sent < count) server.dispatch(id, 1, keys[sent++ % keys.length], 3, next);
      else if (got === count) resolve(count / ((performance.now() - t0) / 1000));
    };
    while (sent < 512) server.dispatch(id, 1, keys[sent++ % keys.length], 3, next);
  });
await run(20_000); // warm: compiled at the workers, JIT settled
process.stdout.write(`${await run(n)}\n`);
await server.close();
process.exit(0);
