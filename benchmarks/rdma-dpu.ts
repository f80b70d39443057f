// npm run bench:rdma-dpu — kv get pinned to the dpu place: the remote agent (`roam serve --rdma
// --dpu-remote` + `roam dpu-agent --rdma`, regions over UCX, messages over the wire) against the local
// agent (`roam serve --rdma --dpu`: regions and slots in POSIX shm) in the same run, interleaved rounds,
// with host clients writing the same table meanwhile (the load). UCX_TLS applies to both (default: this
// machine's shared-memory transports; UCX_TLS=tcp: the remote agent's regions over TCP).
// Also each agent process's CPU per get. Results: RESULTS-rdma.md.
import { loadavg } from 'node:os';
import { rdmaAvailable } from '../engine/rdma/worker.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { bundleOf } from '../test/helpers/build.ts';
import { kvKey } from '../test/helpers/rdma-kv.ts';
import { deployBundle, startAgent, startServer, type Proc } from '../test/helpers/dpu-remote.ts';
import { median, procCpuMs } from './harness.ts';

if (!rdmaAvailable()) {
  console.error('bench:rdma-dpu: the roam_ucx addon is not built (install libucx-dev, npm run build:native)');
  process.exit(1);
}

const KEYS = 1000;
const ROUND_MS = Number(process.env.ROUND_MS ?? 1500);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 16);
const WRITERS = Number(process.env.WRITERS ?? 4);
const ADMIN = 'bench-admin';
const load0 = loadavg()[0]!;

interface Side {
  name: string;
  server: Proc & { url: string; port: number };
  agentPid: number;
  agent?: Proc;
  reader: Client;
  writer: Client;
}

async function side(kind: 'local' | 'remote'): Promise<Side> {
  const server = await startServer({ host: '127.0.0.1', admin: ADMIN, tenants: {}, dpu: kind });
  await deployBundle(server.url, ADMIN, 'kv', await bundleOf('functions/kv'));
  let agent: Proc | undefined;
  let agentPid: number;
  if (kind === 'remote') {
    agent = await startAgent('127.0.0.1', server.port, ADMIN);
    agentPid = agent.child.pid!;
  } else agentPid = Number(/dpu agent pid (\d+)/.exec(server.out())?.[1]);
  const reader = await connect(server.port, { token: ADMIN, clientPlace: false });
  const writer = await connect(server.port, { token: ADMIN, clientPlace: false });
  for (let k = 0; k < KEYS; k += 100) await Promise.all(Array.from({ length: 100 }, (_, i) => writer.call('kv/put', kvKey(1 + k + i, new Uint8Array(32).fill(k + i)), { place: 'host' })));
  return { name: kind === 'local' ? 'local agent (`--dpu`: POSIX shm slots and regions)' : 'remote agent (`--dpu-remote` + `dpu-agent --rdma`: wire messages, UCX regions)', server, agentPid, ...(agent ? { agent } : {}), reader, writer };
}

const sides: Side[] = [];
try {
  sides.push(await side('local'), await side('remote'));
  const get = (s: Side, k: number) => s.reader.call('kv/get', kvKey(1 + (k % KEYS)), { place: 'dpu' });
  for (const s of sides) for (let i = 0; i < 300; i++) await get(s, i); // compile and warm at the agent
  const rates = sides.map(() => [] as number[]);
  const cpu = sides.map(() => [] as number[]);
  let puts = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, s] of sides.entries()) {
      let n = 0;
      const c0 = procCpuMs(s.agentPid);
      const t0 = performance.now();
      const end = t0 + ROUND_MS;
      const lanes = Array.from({ length: IN_FLIGHT }, async (_, lane) => {
        while (performance.now() < end) {
          const g = await get(s, lane * 61 + n++);
          if (g.place !== 'dpu') throw new Error(`ran at ${g.place}`);
        }
      });
      // The load: host clients rewriting keys of the same table (host workers) during the round.
      const writers = Array.from({ length: WRITERS }, async (_, w) => {
        while (performance.now() < end) await s.writer.call('kv/put', kvKey(1 + ((w * 97 + puts++) % KEYS), new Uint8Array(32).fill(puts & 0xff)), { place: 'host' });
      });
      await Promise.all([...lanes, ...writers]);
      const secs = (performance.now() - t0) / 1000;
      rates[i]!.push(n / secs);
      cpu[i]!.push(((procCpuMs(s.agentPid) - c0) * 1000) / n);
    }
  }
  const base = median(rates[0]!);
  console.log(`kv get pinned to the dpu place, ${IN_FLIGHT} in flight, ${WRITERS} host writers on the same table; UCX_TLS=${process.env.UCX_TLS ?? '(default)'}; median of ${ROUNDS} interleaved ${ROUND_MS} ms rounds; load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n`);
  console.log('| dpu place | kv get ops/s | vs local agent | agent CPU per get |\n|---|---|---|---|');
  for (const [i, s] of sides.entries()) console.log(`| ${s.name} | ${median(rates[i]!).toFixed(0)} | ${(median(rates[i]!) / base).toFixed(2)}x | ${median(cpu[i]!).toFixed(1)} µs |`);
} finally {
  for (const s of sides) {
    s.reader.close();
    s.writer.close();
    s.agent?.child.kill('SIGKILL');
    s.server.child.kill('SIGTERM');
  }
}
