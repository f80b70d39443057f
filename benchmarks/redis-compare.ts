// The Redis comparison of `npm run bench:places`: remote kv get/set over loopback, roam vs redis-server,
// each server its own process driven by a C load generator of the same shape (connections × pipeline,
// random keys, value size): redis-benchmark for Redis, benchmarks/wire-load/wire-load.c for roam. A
// third and fourth server, Node processes that answer every frame with an empty reply and do nothing
// else, over Node's sockets and over native-host's roam_netio, are the floors of a Node server at this
// shape: they separate socket I/O from roam's own work.
// Rounds are interleaved (roam, floor, Redis, roam, …) and each rate is the median of its rounds.
import net from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { listenWire } from '../engine/server/wire-server.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { connect } from '../engine/client/index.ts';
import { loadKeys } from '../engine/demo/ycsb.ts';
import { HEADER, Kind, MAGIC, VERSION } from '../engine/wire/frame.ts';
import { fmt, median, procCpuMs } from './harness.ts';
import { nativeNet, nodeStream, type NativeNet } from '../engine/wire/native-net.ts';
import { hasCommand as has, runWireLoad, wireLoadBinary } from './wire-load/index.ts';

// Child modes: a server process printing its port.
if (process.argv[2] === '--serve-kv') {
  // argv[3]: the inline lane's threshold in µs (0 = every host message goes to a worker); argv[4]: native | node.
  const s = await listenWire({ host: { workers: 2, inline: { maxNs: Number(process.argv[3] ?? 100) * 1000 } }, nativeIo: process.argv[4] !== 'node' });
  s.deploy(await cachedBuild('functions/kv'));
  console.log(s.port);
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
} else if (process.argv[2] === '--serve-floor') {
  const native = process.argv[3] === 'native' ? nativeNet() : null;
  if (process.argv[3] === 'native' && !native) throw new Error('roam_netio is not built: npm run build:native');
  const srv = net.createServer({ pauseOnConnect: true }, (s) => floorConnection(s, native)).listen(0, '127.0.0.1', () => console.log((srv.address() as net.AddressInfo).port));
  process.on('SIGTERM', () => process.exit(0));
}

/** A floor server's connection: one empty REPLY per request frame, one write per chunk read. */
function floorConnection(s: net.Socket, native: NativeNet | null): void {
  let pending: Buffer | null = null;
  let out = Buffer.allocUnsafe(64 * 1024);
  const events = {
    data(chunk: Buffer) {
      const b = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      if (out.length < b.length || !stream.copies) out = Buffer.allocUnsafe(Math.max(out.length, b.length));
      let at = 0, o = 0;
      while (b.length - at >= HEADER) {
        const len = b.readUInt32LE(at + 12);
        if (b.length - at - HEADER < len) break;
        out[o] = MAGIC;
        out[o + 1] = VERSION;
        out[o + 2] = Kind.REPLY;
        out.fill(0, o + 3, o + HEADER);
        b.copy(out, o + 4, at + 4, at + 12);
        o += HEADER;
        at += HEADER + len;
      }
      if (at < b.length) pending = Buffer.from(b.subarray(at));
      if (o > 0) stream.write(out, o);
    },
    close() {},
    drain() {},
  };
  const adopted = native?.adopt(s, events);
  const stream = adopted ?? nodeStream(s, events);
  if (!adopted) s.resume(); // accepted paused (pauseOnConnect)
}

export interface RedisShape {
  connections: number;
  pipeline: number;
  requests: number;
  keys: number;
  valueBytes: number;
  rounds: number;
}

interface Rate {
  ops: number;
  /** CPU per request, µs (user + system). */
  serverUs: number;
  genUs: number;
}

async function startChild(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((r) => createInterface({ input: child.stdout! }).once('line', (l) => r(Number(l))));
  return { child, port };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Runs the comparison; returns the RESULTS-places.md section and the number of "slot busy" retries. */
export async function redisComparison(shape: RedisShape): Promise<{ lines: string[]; retries: number }> {
  const gen = wireLoadBinary();
  const head = `Every server is its own process, driven by a C load generator of the same shape: ${shape.connections} connections × pipeline ${shape.pipeline} (${shape.connections * shape.pipeline} in flight; each connection writes ${shape.pipeline} requests at once and waits for all their replies), ${shape.requests} requests per test, random keys in 1..${shape.keys}, ${shape.valueBytes}-byte values, over 127.0.0.1; ${shape.rounds} interleaved rounds, medians. roam: \`roam serve\`'s server with 2 host workers and kv deployed (place auto: kv runs inline on the network thread; connections served by native-host's roam_netio), and the same server with \`--net node\` (Node's sockets) and with \`--inline-us 0\` (every message through a host worker), driven by benchmarks/wire-load/wire-load.c (the roam wire protocol, pre-encoded frames). Floors: a Node server answering each frame with an empty reply and doing nothing else, over roam_netio and over Node's sockets, driven the same way.`;
  if (!gen) return { lines: [head, '', 'Skipped: no C compiler (`cc`) to build benchmarks/wire-load/wire-load.c.'], retries: 0 };
  const redisOk = has('redis-server') && has('redis-benchmark');
  let retries = 0;
  /** One wire-load run against `port`; the server's CPU from /proc, the generator's from its own report. */
  const drive = async (port: number, pid: number, bundle: number, type: number, valueBytes: number): Promise<Rate> => {
    const cpu0 = procCpuMs(pid);
    const j = await runWireLoad(gen, { port, bundle, type, valueBytes, connections: shape.connections, pipeline: shape.pipeline, requests: shape.requests, keys: shape.keys });
    retries += j.retries;
    return { ops: j.ops, serverUs: ((procCpuMs(pid) - cpu0) * 1000) / shape.requests, genUs: j.cpu_us / shape.requests };
  };

  const roamServer = async (inlineUs: number, netMode: 'native' | 'node') => {
    const s = await startChild(['--serve-kv', String(inlineUs), netMode]);
    const c = await connect(s.port, { clientPlace: false });
    const id = (await c.resolve('kv')).id;
    await loadKeys(c, id, shape.keys);
    c.close();
    return { ...s, id };
  };
  const roam = await roamServer(100, 'native');
  const roamNode = await roamServer(100, 'node');
  const workers = await roamServer(0, 'native');
  const floor = await startChild(['--serve-floor', 'native']);
  const floorNode = await startChild(['--serve-floor', 'node']);
  const rport = await freePort();
  const redis = redisOk ? spawn('redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }) : null;
  const redisArgs = ['-h', '127.0.0.1', '-p', String(rport), '-c', String(shape.connections), '-P', String(shape.pipeline), '-n', String(shape.requests), '-r', String(shape.keys), '-d', String(shape.valueBytes), '-t', 'set,get', '--csv'];
  const runs = { roamSet: [] as Rate[], roamGet: [] as Rate[], nodeSet: [] as Rate[], nodeGet: [] as Rate[], workSet: [] as Rate[], workGet: [] as Rate[], floor: [] as Rate[], floorNode: [] as Rate[], redisSet: [] as Rate[], redisGet: [] as Rate[] };
  try {
    if (redis) await waitForPort(rport);
    // Warm-up: V8 compiles the server's hot path during the first requests.
    for (const s of [roam, roamNode, workers]) await drive(s.port, s.child.pid!, s.id, 1, 0);
    for (const s of [floor, floorNode]) await drive(s.port, s.child.pid!, 0, 1, 0);
    for (let round = 0; round < shape.rounds; round++) {
      runs.roamSet.push(await drive(roam.port, roam.child.pid!, roam.id, 2, shape.valueBytes));
      runs.roamGet.push(await drive(roam.port, roam.child.pid!, roam.id, 1, 0));
      runs.nodeSet.push(await drive(roamNode.port, roamNode.child.pid!, roamNode.id, 2, shape.valueBytes));
      runs.nodeGet.push(await drive(roamNode.port, roamNode.child.pid!, roamNode.id, 1, 0));
      runs.workSet.push(await drive(workers.port, workers.child.pid!, workers.id, 2, shape.valueBytes));
      runs.workGet.push(await drive(workers.port, workers.child.pid!, workers.id, 1, 0));
      runs.floor.push(await drive(floor.port, floor.child.pid!, 0, 1, 0));
      runs.floorNode.push(await drive(floorNode.port, floorNode.child.pid!, 0, 1, 0));
      if (redis) {
        const cpu0 = procCpuMs(redis.pid!);
        // bash's `times` prints the generator's own CPU (children's user and system time) after it exits.
        const r = spawnSync('bash', ['-c', `redis-benchmark ${redisArgs.join(' ')}; times`], { encoding: 'utf8', timeout: 120_000 });
        const serverUs = ((procCpuMs(redis.pid!) - cpu0) * 1000) / (2 * shape.requests);
        const rate = (test: string) => Number(r.stdout.split('\n').find((l) => l.startsWith(`"${test}"`))?.split(',')[1]?.replace(/"/g, ''));
        const t = r.stdout.trim().split('\n').at(-1)!.match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
        const genUs = t ? ((Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4])) * 1e6) / (2 * shape.requests) : NaN;
        runs.redisSet.push({ ops: rate('SET'), serverUs, genUs });
        runs.redisGet.push({ ops: rate('GET'), serverUs, genUs });
      }
    }
  } finally {
    for (const c of [roam.child, roamNode.child, workers.child, floor.child, floorNode.child, redis]) c?.kill('SIGTERM');
  }
  const m = (rs: Rate[]) => ({ ops: median(rs.map((r) => r.ops)), serverUs: median(rs.map((r) => r.serverUs)), genUs: median(rs.map((r) => r.genUs)) });
  const mix = (a: number, b: number) => 2 / (1 / a + 1 / b);
  const rs = m(runs.roamSet), rg = m(runs.roamGet), ns = m(runs.nodeSet), ng = m(runs.nodeGet), ws = m(runs.workSet), wg = m(runs.workGet), fl = m(runs.floor), fn = m(runs.floorNode);
  const lines = [head];
  const cpuRow = (name: string, r: { serverUs: number; genUs: number }) => `| ${name} | ${r.serverUs.toFixed(2)} | ${r.genUs.toFixed(2)} |`;
  if (!redis) {
    lines.push('', `roam: SET ${fmt(rs.ops)}/s, GET ${fmt(rg.ops)}/s; floors: roam_netio ${fmt(fl.ops)}/s, Node's sockets ${fmt(fn.ops)}/s. Redis rows skipped: redis-server / redis-benchmark not installed (\`apt-get install -y redis-server\`).`);
    return { lines, retries };
  }
  const gs = m(runs.redisSet), gg = m(runs.redisGet);
  const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.split(' ')[2] ?? '?';
  const mixR = mix(rs.ops, rg.ops), mixRedis = mix(gs.ops, gg.ops), mixN = mix(ns.ops, ng.ops), mixW = mix(ws.ops, wg.ops);
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  lines.push(`Redis: ${version}, \`redis-benchmark ${redisArgs.join(' ').replace(String(rport), 'PORT')}\`.`, '',
    '| test | roam ops/s | Redis ops/s | roam / Redis |', '|---|---|---|---|',
    `| SET (kv put) | ${fmt(rs.ops)} | ${fmt(gs.ops)} | ${ratio(rs.ops, gs.ops)} |`,
    `| GET (kv get) | ${fmt(rg.ops)} | ${fmt(gg.ops)} | ${ratio(rg.ops, gg.ops)} |`,
    `| 50/50 mix (harmonic mean of the two) | ${fmt(mixR)} | ${fmt(mixRedis)} | ${ratio(mixR, mixRedis)} (goal ≥ 1.0x ${mixR >= mixRedis ? 'met' : 'NOT met'}) |`,
    `| mix over Node's sockets (\`--net node\`) | ${fmt(mixN)} | ${fmt(mixRedis)} | ${ratio(mixN, mixRedis)} |`,
    `| mix, workers only (\`--inline-us 0\`) | ${fmt(mixW)} | ${fmt(mixRedis)} | ${ratio(mixW, mixRedis)} |`,
    `| floor over roam_netio (empty reply per frame, no work) | ${fmt(fl.ops)} | ${fmt(mixRedis)} (mix) | ${ratio(fl.ops, mixRedis)}; roam mix = ${ratio(mixR, fl.ops)} of it |`,
    `| floor over Node's sockets | ${fmt(fn.ops)} | ${fmt(mixRedis)} (mix) | ${ratio(fn.ops, mixRedis)} |`,
    '', `Rounds (ops/s): ${(['roamSet', 'roamGet', 'nodeSet', 'nodeGet', 'floor', 'floorNode', 'redisSet', 'redisGet'] as const).map((k) => `${k} ${runs[k].map((r) => fmt(r.ops)).join(', ')}`).join('; ')}.`,
    '', '| CPU per request (user + system, µs) | server | load generator |', '|---|---|---|',
    cpuRow('roam SET', rs), cpuRow('roam GET', rg), cpuRow("roam SET, Node's sockets", ns), cpuRow("roam GET, Node's sockets", ng), cpuRow('floor, roam_netio', fl), cpuRow("floor, Node's sockets", fn),
    `| Redis (SET and GET together) | ${gs.serverUs.toFixed(2)} | ${gs.genUs.toFixed(2)} |`);
  return { lines, retries };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1').once('connect', () => (s.destroy(), r(true))).once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}
