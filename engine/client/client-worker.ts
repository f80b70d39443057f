// The client place's thread: runs handlers in the client process. Region accesses block this thread
// (Atomics.wait) while the main thread does the one-sided operation over the connection, so a synchronous
// Wasm call can read remote memory without JSPI.
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { Engine, type Deployment } from '../runtime/engine.ts';
import { RegionStore } from '../regions/region-store.ts';
import { RoamError, isRoamError } from '../errors.ts';
import { remoteRegions } from './remote-regions.ts';
import { AtomicOp, Kind } from '../wire/frame.ts';
import { IoState, IO_DATA, type FromClientWorker, type ToClientWorker } from './client-io.ts';
import { RdmaClientSide } from '../rdma/client-side.ts';
import type { RemoteIo } from '../rdma/remote-io.ts';

const port = parentPort!;
let ctl: Int32Array;
let data: Uint8Array;
let ops = 0;
let bytes = 0;
let writes = 0;
let seq = 0;

// connect(…, { rdma: true }): the bundle being run reaches its regions over UCX where RDMA_INFO gave keys.
let rdma: RdmaClientSide | null = null;
let ucxIo: RemoteIo | undefined;

function io(kind: number, region: number, payload: Uint8Array): Uint8Array {
  if (!ucxIo) return wireIo(kind, region, payload);
  const out = ucxIo(kind, region, payload);
  count(kind, payload, out.length);
  return out;
}

function count(kind: number, payload: Uint8Array, len: number): void {
  ops++;
  bytes += len + payload.length;
  if (kind === Kind.REGION_WRITE || (kind === Kind.REGION_ATOMIC && payload[0] !== AtomicOp.LOAD_U32)) writes++;
}

function wireIo(kind: number, region: number, payload: Uint8Array): Uint8Array {
  if (payload.length > data.length) throw new RoamError('E_TOO_LARGE', `remote operation of ${payload.length} bytes exceeds the ${data.length}-byte channel`);
  data.set(payload);
  ctl[1] = kind;
  ctl[2] = region;
  ctl[3] = payload.length;
  seq = (seq + 1) | 0;
  ctl[5] = seq;
  Atomics.store(ctl, 0, IoState.REQUEST);
  port.postMessage({ type: 'io', seq } satisfies FromClientWorker);
  // A wake-up is only a hint: when the previous answer was read without waiting (it was already there),
  // that answer's notify can still arrive and wake this wait. Trusting it made the worker take its own
  // request bytes as the answer and send garbage next (the misdecoded atomics and lost puts once seen
  // after host-worker crashes). So wait until the state says DONE, and check the answer's number.
  // The main thread always answers (reply, error, or E_DISCONNECTED); the timeout only guards a wedged process.
  const deadline = Date.now() + 30_000;
  while (Atomics.load(ctl, 0) !== IoState.DONE) {
    const left = deadline - Date.now();
    if (left <= 0 || Atomics.wait(ctl, 0, IoState.REQUEST, left) === 'timed-out') {
      // The channel cannot be trusted after this (a late answer would land on the next request): leave,
      // so the client place starts a fresh worker and channel.
      setImmediate(() => process.exit(1));
      throw new RoamError('E_TIMEOUT', 'remote region operation got no answer in 30 s');
    }
  }
  if (ctl[6] !== seq) throw new RoamError('E_INTERNAL', `client-place channel answered request ${ctl[6]} while ${seq} was waiting`);
  const len = ctl[3]!;
  const out = data.slice(0, len);
  const failed = ctl[4] !== 0;
  Atomics.store(ctl, 0, IoState.IDLE);
  count(kind, payload, len);
  if (failed) {
    const s = Buffer.from(out).toString('utf8');
    const sp = s.indexOf(' ');
    throw new RoamError(s.slice(0, sp), s.slice(sp + 1));
  }
  return out;
}

// Region bytes are never touched here (the capability goes remote); the store only satisfies binding.
const engine = new Engine({ regions: new RegionStore((_k, size) => new ArrayBuffer(size)), capabilities: [remoteRegions(io)] });
const deployments = new Map<number, Deployment>();

port.on('message', (m: ToClientWorker) => {
  if (m.type === 'init') {
    ctl = new Int32Array(m.channel, 0, IO_DATA / 4);
    data = new Uint8Array(m.channel, IO_DATA);
    if (m.rdma) {
      const r = RdmaClientSide.open();
      if ('side' in r) rdma = r.side;
      port.postMessage({ type: 'rdma', ...('side' in r ? { descriptor: r.side.descriptor() } : { error: r.error }) } satisfies FromClientWorker);
    }
    return;
  }
  if (m.type === 'deploy') {
    try {
      deployments.set(m.bundle, engine.deploy(m.bytes));
      rdma?.drop(m.bundle);
      const path = m.rdma && rdma ? rdma.deploy(m.bundle, m.rdma) : undefined;
      port.postMessage({ type: 'deployed', bundle: m.bundle, seq: m.seq, ...(path ? { path } : {}) } satisfies FromClientWorker);
    } catch (e) {
      port.postMessage({ type: 'deployed', bundle: m.bundle, seq: m.seq, error: `${isRoamError(e) ? e.code : 'E_DEPLOY'} ${(e as Error).message}` } satisfies FromClientWorker);
    }
    return;
  }
  if (m.type === 'undeploy') {
    // Removed at the server: a message still queued for it here answers E_NO_BUNDLE.
    deployments.delete(m.bundle);
    rdma?.drop(m.bundle);
    return;
  }
  const t0 = performance.now();
  ops = 0;
  bytes = 0;
  writes = 0;
  let msg: FromClientWorker;
  try {
    const dep = deployments.get(m.bundle);
    ucxIo = rdma?.io(m.bundle);
    if (!dep) throw new RoamError('E_NO_BUNDLE', `bundle ${m.bundle} is not deployed at the client place`);
    const r = dep.call(m.handler, m.input);
    msg = { type: 'done', id: m.id, ok: true, reply: r.reply, ops, bytes, writes, ms: performance.now() - t0 };
  } catch (e) {
    msg = { type: 'done', id: m.id, ok: false, code: isRoamError(e) ? e.code : 'E_INTERNAL', message: (e as Error).message, ops, bytes, writes, ms: performance.now() - t0 };
  }
  port.postMessage(msg);
});
