import { BroadcastChannel, isMainThread, MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { RoamError } from '../../errors.ts';
import type { GpuQuotaChange, GpuStats } from '../host.ts';
import { CHANNEL, type Op, type Ops, type Reply, type Request, type ServiceOptions } from './protocol.ts';
import { log as engineLog } from '../../observe/log.ts';

/**
 * Where a client's requests go and its replies arrive. `replies` may be a BroadcastChannel: Node's
 * receiveMessageOnPort accepts one, though its typings say MessagePort.
 */
export interface Link {
  send(m: Request): void;
  replies: MessagePort;
}

/** A synchronous connection to the gpu service: the calling thread blocks until the reply. */
export class GpuClient {
  private nextId = 1;

  constructor(private readonly link: Link, private readonly flag: Int32Array, private readonly timeoutMs = 60_000) {}

  /** A client on a port from `GpuService.port()`. */
  static overPort(port: MessagePort, timeoutMs?: number): GpuClient {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    port.postMessage({ flag: flag.buffer });
    return new GpuClient({ send: (m) => port.postMessage(m), replies: port }, flag, timeoutMs);
  }

  call<O extends Op>(op: O, ...args: Ops[O]['args']): Ops[O]['result'] {
    const id = this.nextId++;
    Atomics.store(this.flag, 0, 0);
    this.link.send({ id, op, args });
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const m = receiveMessageOnPort(this.link.replies) as { message: Reply } | undefined;
      if (m) {
        const r = m.message;
        if (r.id !== id) continue; // a stale reply from a call that timed out
        if (r.ok) return r.value as Ops[O]['result'];
        throw new RoamError(r.code, r.message);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new RoamError('E_GPU_TIMEOUT', `gpu ${op} got no answer from the gpu service within ${this.timeoutMs} ms`);
      Atomics.wait(this.flag, 0, 0, Math.min(left, 1000));
      Atomics.store(this.flag, 0, 0);
    }
  }
}

/**
 * The gpu service: one worker thread that owns the device and the scheduler. Threads reach it through
 * a port (`connect()` here, `port()` to hand to a worker) or, for the process-wide service, through
 * the process channel (process-channel.ts), which needs no port.
 */
export class GpuService {
  private readonly worker: Worker;
  private local: GpuClient | undefined;
  private async: { port: MessagePort; next: number; waiting: Map<number, (r: Reply) => void> } | undefined;
  /** Set if the service thread died; its clients then time out (E_GPU_TIMEOUT). */
  failure: Error | undefined;

  constructor(opts: ServiceOptions) {
    this.worker = new Worker(new URL('./service.mjs', import.meta.url), { workerData: opts });
    // Guests may finish without closing the service; it must not keep the process alive.
    this.worker.unref();
    // A dead service must not take the host process down with it.
    this.worker.on('error', (e) => {
      this.failure = e;
      engineLog('error', 'gpu service thread failed', { message: e.message });
    });
  }

  /** A port for another thread; wrap it there with `GpuClient.overPort(port)`. */
  port(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.worker.postMessage({ port: port2 }, [port2]);
    return port1;
  }

  /** This thread's synchronous client. */
  connect(): GpuClient {
    return (this.local ??= GpuClient.overPort(this.port()));
  }

  /** Statistics without blocking this thread (for servers: `/v1/stats`, `/metrics`). */
  stats(): Promise<GpuStats> {
    return this.ask('stats');
  }

  /** Changes a function's quota at runtime without blocking this thread (GpuHost.setQuota). */
  setQuota(fn: string, change: GpuQuotaChange): Promise<GpuQuotaChange> {
    return this.ask('quota', fn, change);
  }

  /** One request over this thread's async port: the reply arrives as a message, nothing blocks. */
  private ask<O extends Op>(op: O, ...args: Ops[O]['args']): Promise<Ops[O]['result']> {
    if (!this.async) {
      const port = this.port();
      port.unref();
      const a = (this.async = { port, next: 1, waiting: new Map<number, (r: Reply) => void>() });
      port.on('message', (r: Reply) => a.waiting.get(r.id)?.(r));
    }
    const a = this.async;
    const id = a.next++;
    return new Promise((resolve, reject) => {
      a.waiting.set(id, (r) => {
        a.waiting.delete(id);
        if (r.ok) resolve(r.value as Ops[O]['result']);
        else reject(new RoamError(r.code, r.message));
      });
      a.port.postMessage({ id, op, args } satisfies Request);
    });
  }

  /** Tells the service a thread exited, so it frees what that thread's clients held. */
  threadExited(threadId: number): void {
    this.worker.postMessage({ exited: threadId });
  }

  async close(): Promise<void> {
    const done = new Promise((r) => this.worker.once('exit', r));
    this.worker.ref(); // unref'd while idle; waiting for its exit must keep the process alive
    this.worker.postMessage({ close: true });
    await done;
    if (this === shared) shared = undefined;
  }
}

let shared: GpuService | undefined;

/** The process-wide service's options: ROAM_GPU_DEVICE=cpu|webgpu (default auto), ROAM_GPU_THREADS (cpu device threads). */
function sharedOptions(): ServiceOptions {
  const env = process.env.ROAM_GPU_DEVICE;
  const threads = Number(process.env.ROAM_GPU_THREADS) || undefined;
  return { device: env === 'cpu' || env === 'webgpu' ? env : 'auto', shared: true, ...(threads ? { threads } : {}) };
}

/**
 * The process-wide service, on the main thread, started on first use (by a guest of this thread, or
 * by a worker thread asking over the boot channel). Only the main thread owns it.
 */
export function sharedGpuService(options: Partial<ServiceOptions> = {}): GpuService {
  if (!isMainThread) throw new RoamError('E_GPU', 'the process-wide gpu service lives on the main thread; worker threads use sharedGpuClient() (process-channel.ts)');
  // `options` apply when this call starts it (benchmarks pick the policy); close() lets a later call start another.
  return (shared ??= new GpuService({ ...sharedOptions(), ...options, shared: true }));
}

/** Statistics of the process-wide gpu service, or undefined when nothing has used the gpu yet. */
export function sharedGpuStats(): Promise<GpuStats | undefined> {
  return shared ? shared.stats() : Promise.resolve(undefined);
}

// Worker threads cannot reach the main thread's objects: they ask over the boot channel and the
// main thread starts the service (if this module is loaded there, as the engine does).
if (isMainThread) {
  const boot = new BroadcastChannel(CHANNEL.boot);
  boot.unref();
  boot.onmessage = () => void sharedGpuService();
  // A worker that exits (or is terminated by a watchdog) frees nothing itself: tell the service.
  // Covers workers created by this thread (the gateway's and host pool's pools are).
  process.on('worker', (w: Worker) => {
    const id = w.threadId;
    w.once('exit', () => shared?.threadExited(id));
  });
}
