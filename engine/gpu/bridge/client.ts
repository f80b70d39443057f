import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { RoamError } from '../../errors.ts';
import type { GpuStats } from '../host.ts';
import type { Op, Ops, Reply, ServiceOptions } from './protocol.ts';

/** A synchronous connection to the gpu service: the calling thread blocks until the reply. */
export class GpuClient {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;

  constructor(private readonly port: MessagePort, private readonly timeoutMs = 60_000) {
    port.postMessage({ flag: this.flag.buffer });
  }

  call<O extends Op>(op: O, ...args: Ops[O]['args']): Ops[O]['result'] {
    const id = this.nextId++;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ id, op, args });
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const m = receiveMessageOnPort(this.port) as { message: Reply } | undefined;
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
 * The gpu service: one worker thread that owns the device and the scheduler for this process.
 * Every thread that runs guests gets its own port (`connect()`, or `port()` to hand to a worker).
 */
export class GpuService {
  private readonly worker: Worker;
  private local: GpuClient | undefined;
  /** Set if the service thread died; its clients then time out (E_GPU_TIMEOUT). */
  failure: Error | undefined;

  constructor(opts: ServiceOptions) {
    this.worker = new Worker(new URL('./service.mjs', import.meta.url), { workerData: opts });
    // Guests may finish without closing the service; it must not keep the process alive.
    this.worker.unref();
    // A dead service must not take the host process down with it.
    this.worker.on('error', (e) => {
      this.failure = e;
      process.stderr.write(`roam: gpu service thread failed: ${e.message}\n`);
    });
  }

  /** A port for another thread; wrap it there with `new GpuClient(port)`. */
  port(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.worker.postMessage({ port: port2 }, [port2]);
    return port1;
  }

  /** This thread's client. */
  connect(): GpuClient {
    return (this.local ??= new GpuClient(this.port()));
  }

  async close(): Promise<void> {
    const done = new Promise((r) => this.worker.once('exit', r));
    this.worker.ref(); // unref'd while idle; waiting for its exit must keep the process alive
    this.worker.postMessage({ close: true });
    await done;
  }
}

let shared: GpuService | undefined;

/** Statistics of the process-wide gpu service, or undefined when no guest has used the gpu yet. */
export function sharedGpuStats(): GpuStats | undefined {
  return shared?.connect().call('stats');
}

/** The process-wide service, started on first use. ROAM_GPU_DEVICE=cpu|webgpu picks the device (default auto). */
export function sharedGpuService(): GpuService {
  const env = process.env.ROAM_GPU_DEVICE;
  const device = env === 'cpu' || env === 'webgpu' ? env : 'auto';
  return (shared ??= new GpuService({ device }));
}
