// A second process for the rdma tests: owns a registered region (a SharedArrayBuffer) and answers
// commands, one JSON line each way on stdin/stdout. A worker thread can hammer the region with
// Atomics while the client works on it remotely (the concurrent writer at the owner).
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { RdmaWorker, type RdmaRegion } from '../../engine/rdma/worker.ts';
import type { RdmaEndpoint, RemoteRegion } from '../../engine/rdma/endpoint.ts';

const size = Number(process.env.RDMA_PEER_SIZE ?? 65536);
// RDMA_PEER_ALLOC=1: the region is UCX-allocated memory (worker.alloc), else a registered SharedArrayBuffer.
const w = RdmaWorker.open();
w.ref(true);
const allocated = process.env.RDMA_PEER_ALLOC === '1' ? w.alloc(size) : null;
const sab = allocated ? allocated.memory : new SharedArrayBuffer(size);
const u8 = new Uint8Array(sab);
for (let i = 0; i < size; i++) u8[i] = i & 0xff;
let region: RdmaRegion | null = allocated ? allocated.region : w.register(u8);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const d = w.descriptor();
say({ ready: true, pid: d.pid, host: d.host, address: hex(d.address), key: hex(region.key()) });

// The writer thread: `n` Atomics.add(1) on the u64 at `off` (or CAS-increments when cas).
const writerSrc = `
const { workerData, parentPort } = require('node:worker_threads');
const { sab, off, n, cas, seq } = workerData;
if (seq) {
  // Seqlocked updates of the 64-byte record at off: version odd, every data byte = i, version even.
  const ver = new Uint32Array(sab, off, 1), data = new Uint8Array(sab, off + 4, 60);
  for (let i = 1; i <= n; i++) {
    for (;;) { const v = Atomics.load(ver, 0); if (!(v & 1) && Atomics.compareExchange(ver, 0, v, v + 1) === v) break; }
    for (let j = 0; j < 60; j++) data[j] = i & 0xff;
    Atomics.add(ver, 0, 1);
    const until = performance.now() + 0.002; // ~2 µs between puts, as a busy kv writer: readers get windows
    while (performance.now() < until);
  }
  parentPort.postMessage('done');
  return;
}
const a = new BigInt64Array(sab, off, 1);
for (let i = 0; i < n; i++) {
  if (!cas) { Atomics.add(a, 0, 1n); continue; }
  for (;;) { const v = Atomics.load(a, 0); if (Atomics.compareExchange(a, 0, v, v + 1n) === v) break; }
}
parentPort.postMessage('done');`;

let ep: RdmaEndpoint | null = null;
const extra: RdmaRegion[] = [];
let remote: RemoteRegion | null = null;
const fail = (e: unknown) => say({ error: (e as { code?: string }).code ?? String(e), message: String(e) });

// The client side, for tests where both processes are children (two network namespaces).
async function client(cmd: { op: string; [k: string]: unknown }): Promise<object> {
  const r = remote!;
  switch (cmd.op) {
    case 'unpack': remote = ep!.unpack(Buffer.from(cmd.key as string, 'hex')); return { mode: remote.mode, lanes: ep!.lanes() };
    case 'rread': return { bytes: hex(await r.read(cmd.off as number, cmd.len as number)) };
    case 'rwrite': await r.write(cmd.off as number, Buffer.from(cmd.bytes as string, 'hex')); return { written: true };
    case 'rfadd': {
      const olds = new Set<bigint>();
      let issued = 0;
      const lane = async () => { while (issued < (cmd.n as number)) { issued++; olds.add(await r.fetchAdd(cmd.off as number, 1n)); } };
      await Promise.all(Array.from({ length: 16 }, lane));
      return { distinct: olds.size };
    }
    case 'rping': {
      // An active message to the other side's echo and back.
      const data = Buffer.alloc(cmd.size as number, 7);
      const back = new Promise<Uint8Array>((resolve) => w.onMessage((cmd.id as number) + 1, (_h, d) => resolve(d)));
      await ep!.send(cmd.id as number, new Uint8Array([1]), data);
      return { echoed: (await back).length };
    }
    case 'rloop': {
      // Reads until one fails (the other side is killed meanwhile): the error's code.
      let reads = 0;
      say({ looping: true });
      try { for (;;) { await r.read(0, 64); reads++; await new Promise((res) => setImmediate(res)); } }
      catch (e) { return { loopError: (e as { code?: string }).code, reads }; }
    }
  }
  return { unknown: cmd.op };
}
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { op: string; [k: string]: unknown };
  switch (cmd.op) {
    case 'connect': {
      ep = w.connect({ address: Buffer.from(cmd.address as string, 'hex'), pid: cmd.pid as number, host: cmd.host as string });
      ep.onError((e) => say({ event: 'peer-error', code: e.code }));
      return say({ connected: true, lanes: ep.lanes() });
    }
    case 'echo': {
      // Active messages `id` come back on id + 1 with the data reversed.
      const id = cmd.id as number;
      w.onMessage(id, (h, d) => void ep!.send(id + 1, h, d.reverse()).catch((e) => say({ event: 'echo-error', message: String(e) })));
      return say({ echoing: id });
    }
    case 'read': {
      const off = cmd.off as number, len = cmd.len as number;
      return say({ bytes: hex(u8.subarray(off, off + len)) });
    }
    case 'fill': {
      u8.fill(cmd.byte as number, cmd.off as number, (cmd.off as number) + (cmd.len as number));
      return say({ filled: true });
    }
    case 'writer': {
      const t = new Worker(`(() => {${writerSrc}})()`, { eval: true, workerData: { sab, off: cmd.off, n: cmd.n, cas: cmd.cas, seq: cmd.seq } });
      t.on('message', () => say({ writerDone: true }));
      t.on('error', (e) => say({ writerError: String(e) }));
      return say({ writerStarted: true });
    }
    case 'newRegion': {
      const r = allocated ? w.alloc(size).region : w.register(new Uint8Array(new SharedArrayBuffer(size)));
      extra.push(r);
      return say({ key: hex(r.key()), index: extra.length - 1 });
    }
    case 'u64': return say({ value: String(new BigUint64Array(sab, cmd.off as number, 1)[0]) });
    case 'deregister': {
      // The first region, or newRegion's `index`.
      const r = cmd.index === undefined ? region! : extra[cmd.index as number]!;
      if (cmd.index === undefined) region = null;
      return void r.deregister().then((unacked) => say({ deregistered: true, unacked }));
    }
    case 'exit':
      w.close();
      return process.exit(0);
    default: void client(cmd).then(say, fail);
  }
});
process.stdin.on('end', () => process.exit(0));
