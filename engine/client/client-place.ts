import { Worker } from 'node:worker_threads';
import { RoamError } from '../errors.ts';
import { Kind } from '../wire/frame.ts';
import { IO_CHANNEL_BYTES, IO_DATA, IoState, type FromClientWorker, type RdmaDeploy, type RegionPath, type ToClientWorker } from './client-io.ts';

const BOOT = new URL('../places/boot.mjs', import.meta.url);
const ENTRY = new URL('./client-worker.ts', import.meta.url).href;

/** The connection calls the client place needs: one request/reply exchange with the server. */
export type Exchange = (kind: number, bundle: number, code: number, payload: Uint8Array) => Promise<Uint8Array>;

/** What the client place reports per message (steering learns the remote cost of a handler from it). */
export interface ClientRun {
  reply: Uint8Array;
  /** Remote region operations the message made, and the bytes they moved. */
  ops: number;
  bytes: number;
  /** Of those, writes and modifying atomics (the handler changes server data). */
  writes: number;
  /** Execution time in the worker incl. remote operations, ms. */
  ms: number;
}

interface Job {
  id: number;
  bundle: number;
  handler: string;
  input: Uint8Array;
  resolve(r: ClientRun): void;
  reject(e: Error): void;
}

/**
 * The client place: one worker thread in the caller's process that runs handlers of bundles fetched from
 * the server. The guest's region accesses turn into one-sided remote operations (see remote-regions.ts)
 * that this class performs on the worker's behalf; messages run one at a time per worker.
 */
export class ClientPlace {
  private worker: Worker | undefined;
  private ctl!: Int32Array;
  private data!: Uint8Array;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private readonly deployed = new Map<number, Promise<void>>();
  /** By deploy number: a bundle may have two deploys in flight (the version fetched before a change and
   *  the one fetched after), each with its own waiters. */
  private readonly deployWaiters = new Map<number, { resolve(): void; reject(e: Error): void }>();
  private nextDeploy = 1;
  private nextId = 1;
  private closed = false;
  /** The worker's UCX descriptor (connect(…, { rdma: true })), or why it has none. */
  private ucx: Promise<FromClientWorker & { type: 'rdma' }> | undefined;
  private onUcx: ((m: FromClientWorker & { type: 'rdma' }) => void) | undefined;
  /** Where the last prepared bundle's region operations go, and why. */
  regionPath: RegionPath;

  constructor(private readonly exchange: Exchange, private readonly opts: { rdma?: boolean } = {}) {
    this.regionPath = { path: 'wire', reason: opts.rdma ? 'no bundle prepared yet' : 'UCX not requested (connect(…, { rdma: true }))' };
  }

  /** Messages waiting or running here. */
  get depth(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const channel = new SharedArrayBuffer(IO_CHANNEL_BYTES);
    this.ctl = new Int32Array(channel, 0, IO_DATA / 4);
    this.data = new Uint8Array(channel, IO_DATA);
    const w = new Worker(BOOT, { workerData: { __roamEntry: ENTRY } });
    w.unref();
    if (this.opts.rdma) this.ucx = new Promise((resolve) => (this.onUcx = resolve));
    w.postMessage({ type: 'init', channel, rdma: this.opts.rdma ?? false } satisfies ToClientWorker);
    w.on('message', (m: FromClientWorker) => this.onMessage(m));
    w.on('error', () => {});
    w.on('exit', () => this.lost(w));
    this.worker = w;
    return w;
  }

  /** Makes sure the worker has the bundle (fetched from the server once). */
  prepare(bundle: number): Promise<void> {
    let p = this.deployed.get(bundle);
    if (!p) {
      p = this.exchange(Kind.FETCH_BUNDLE, bundle, 0, new Uint8Array(0)).then(async (bytes) => {
        const w = this.start();
        const rdma = await this.rdmaInfo(bundle);
        const seq = this.nextDeploy++;
        return new Promise<void>((resolve, reject) => {
          this.deployWaiters.set(seq, { resolve, reject });
          w.postMessage({ type: 'deploy', bundle, seq, bytes, ...(rdma ? { rdma } : {}) } satisfies ToClientWorker);
        });
      });
      p.catch(() => {
        if (this.deployed.get(bundle) === p) this.deployed.delete(bundle);
      });
      this.deployed.set(bundle, p);
    }
    return p;
  }

  /**
   * The server has a new version of `bundle` (BUNDLE_CHANGED): the next message fetches it. A message already
   * running, or queued behind the worker's current deploy, runs on the version it found. `removed`: the worker
   * drops it too, so a queued message answers E_NO_BUNDLE and the next one learns it from the server.
   */
  forget(bundle: number, removed: boolean): void {
    this.deployed.delete(bundle);
    if (removed) this.worker?.postMessage({ type: 'undeploy', bundle } satisfies ToClientWorker);
  }

  /** The bundle's keys from the server (RDMA_INFO), or undefined with regionPath saying why not. */
  private async rdmaInfo(bundle: number): Promise<RdmaDeploy | undefined> {
    if (!this.ucx) return undefined;
    const m = await this.ucx;
    if (!m.descriptor) {
      this.regionPath = { path: 'wire', reason: `no UCX at the client: ${m.error}` };
      return undefined;
    }
    try {
      const r = await this.exchange(Kind.RDMA_INFO, bundle, 0, Buffer.from(JSON.stringify(m.descriptor)));
      return JSON.parse(Buffer.from(r).toString('utf8')) as RdmaDeploy;
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'E_INTERNAL';
      this.regionPath = { path: 'wire', reason: `${code === 'E_FRAME' ? 'the server does not know RDMA_INFO' : 'the server gave no UCX keys'}: ${code} ${(e as Error).message}` };
      return undefined;
    }
  }

  async run(bundle: number, handler: string, input: Uint8Array): Promise<ClientRun> {
    if (this.closed) throw new RoamError('E_DISCONNECTED', 'client closed');
    await this.prepare(bundle);
    return new Promise<ClientRun>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, bundle, handler, input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const j = (this.running = this.queue.shift()!);
    this.start().postMessage({ type: 'run', id: j.id, bundle: j.bundle, handler: j.handler, input: j.input } satisfies ToClientWorker);
  }

  private onMessage(m: FromClientWorker): void {
    if (m.type === 'io') return this.io(m.seq);
    if (m.type === 'rdma') return this.onUcx?.(m);
    if (m.type === 'deployed') {
      const w = this.deployWaiters.get(m.seq);
      this.deployWaiters.delete(m.seq);
      if (m.path) this.regionPath = m.path;
      if (!m.error) return w?.resolve();
      const sp = m.error.indexOf(' ');
      return w?.reject(new RoamError(m.error.slice(0, sp), m.error.slice(sp + 1)));
    }
    const j = this.running;
    if (!j || j.id !== m.id) return;
    this.running = undefined;
    if (m.ok) j.resolve({ reply: m.reply, ops: m.ops, bytes: m.bytes, writes: m.writes, ms: m.ms });
    else {
      // Keys revoked (bundle deleted or its regions replaced) or the server's worker gone: the next
      // message fetches the bundle and asks for keys again (or learns it is gone: E_NO_BUNDLE).
      if (m.code.startsWith('E_RDMA_')) this.deployed.delete(j.bundle);
      j.reject(new RoamError(m.code, m.message));
    }
    this.pump();
  }

  /** Performs the worker's pending remote operation and wakes it with the answer. */
  private io(seq: number): void {
    const j = this.running;
    // This worker's channel, even if a new worker (and channel) exists by the time the answer comes.
    const ctl = this.ctl, data = this.data;
    const kind = ctl[1]!, region = ctl[2]!, len = ctl[3]!;
    const payload = data.slice(0, len);
    const answer = (status: 0 | 1, bytes: Uint8Array) => {
      if (ctl[5] !== seq || Atomics.load(ctl, 0) !== IoState.REQUEST) return; // the worker gave up on it (timeout) and left
      const b = bytes.length > data.length ? Buffer.from(`E_TOO_LARGE remote reply of ${bytes.length} bytes exceeds the channel`) : bytes;
      data.set(b);
      ctl[3] = b.length;
      ctl[4] = b === bytes ? status : 1;
      ctl[6] = seq;
      Atomics.store(ctl, 0, IoState.DONE);
      Atomics.notify(ctl, 0);
    };
    if (!j) return answer(1, Buffer.from('E_INTERNAL remote operation outside a message'));
    this.exchange(kind, j.bundle, region, payload).then(
      (r) => answer(0, r),
      (e: Error & { code?: string }) => answer(1, Buffer.from(`${e.code ?? 'E_INTERNAL'} ${e.message}`)),
    );
  }

  private lost(w: Worker): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.deployed.clear();
    const err = new RoamError('E_PLACE_LOST', 'the client-place worker exited while running this message');
    for (const d of this.deployWaiters.values()) d.reject(err);
    this.deployWaiters.clear();
    this.running?.reject(err);
    this.running = undefined;
    for (const j of this.queue.splice(0)) j.reject(err);
  }

  /** Test hook: kills the worker as a crash would (running and queued messages get E_PLACE_LOST). */
  async crash(): Promise<void> {
    await this.worker?.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    if (w) await w.terminate();
  }
}
