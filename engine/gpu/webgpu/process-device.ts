import { fork, type ChildProcess } from 'node:child_process';
import { RoamError } from '../../errors.ts';
import { BufferTable, type DeviceCounters, type DeviceDispatch, type DeviceInfo, type GpuDevice } from '../device.ts';
import { USER_KERNEL_BASE } from '../kernels/table.ts';
import type { AdapterInfo } from './adapter.ts';
import type { FromDevice, ToDevice } from './process-protocol.ts';

/** Dawn's stderr lines kept for error messages when it is not shown (ROAM_GPU_DEBUG=1 shows it). */
const LOG_LINES = 20;

interface Child {
  proc: ChildProcess;
  /** Which device process this is: buffers and kernels belong to one and die with it. */
  gen: number;
  pending: Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>;
  /** Set once the process is gone or its device lost; later operations open a new process. */
  dead?: string;
}

export interface ProcessDeviceOptions {
  memoryBytes?: number;
  /** Let Dawn's stderr through (default: ROAM_GPU_DEBUG=1); otherwise its last lines only go into loss errors. */
  debug?: boolean;
  /** How long to wait for the device process to open its adapter (default 60 s). */
  startTimeoutMs?: number;
}

/**
 * The webgpu device as the gpu service sees it: a proxy for a WebGpuDevice running in its own
 * process (device-process.ts). Dawn there cannot crash the engine's process, and its stderr is
 * filtered. If the process dies or its device is lost, the operations in flight fail with
 * E_GPU_DEVICE_LOST, so do later ones on buffers and kernels of that device; the next operation
 * that needs a device opens a new process (the server keeps serving).
 */
export class ProcessGpuDevice implements GpuDevice {
  readonly info: DeviceInfo;
  private readonly buffers = new BufferTable<number>(); // buffer id → generation
  private readonly kernels = new Map<number, { gen: number; buffers: number }>();
  private nextKernel = USER_KERNEL_BASE;
  private nextSeq = 1;
  private child: Child | undefined;
  private starting: Promise<Child> | undefined;
  private gens = 0;
  private closed = false;
  /** Device losses seen (process deaths and lost devices), for stats and tests. */
  losses = 0;

  private constructor(readonly adapter: AdapterInfo, maxBufferBytes: number, first: Child, private readonly opts: ProcessDeviceOptions, private readonly log: string[]) {
    const memoryBytes = opts.memoryBytes ?? 2 ** 30;
    const name = [adapter.vendor, adapter.device, adapter.description].filter(Boolean).join(' ');
    this.info = { kind: 'webgpu', label: `webgpu: ${name}${adapter.software ? ' (software renderer)' : ''}`, slots: 2, memoryBytes, maxBufferBytes: Math.min(maxBufferBytes, memoryBytes), wgsl: true };
    this.child = first;
  }

  /** Starts the device process and waits for its adapter; E_GPU_NO_DEVICE with the reason if none. */
  static async open(opts: ProcessDeviceOptions = {}): Promise<ProcessGpuDevice> {
    const log: string[] = [];
    const { child, ready } = await ProcessGpuDevice.spawn(opts, 1, log);
    const d = new ProcessGpuDevice(ready.ready, ready.maxBufferBytes, child, opts, log);
    d.gens = 1;
    d.watch(child);
    return d;
  }

  private static spawn(opts: ProcessDeviceOptions, gen: number, log: string[]): Promise<{ child: Child; ready: Extract<FromDevice, { ready: AdapterInfo }> }> {
    const debug = opts.debug ?? process.env.ROAM_GPU_DEBUG === '1';
    const proc = fork(new URL('./device-process.mjs', import.meta.url), [], {
      execArgv: [],
      // Asked for, Dawn's stderr goes straight to ours (complete even if this process exits first).
      serialization: 'advanced', stdio: ['ignore', 'ignore', debug ? 'inherit' : 'pipe', 'ipc'],
      env: { ...process.env, ROAM_GPU_MEMORY_BYTES: String(opts.memoryBytes ?? 2 ** 30) },
    });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      for (const l of s.split('\n')) if (l.trim()) log.push(l.trim());
      log.splice(0, Math.max(0, log.length - LOG_LINES));
    });
    const child: Child = { proc, gen, pending: new Map() };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail('E_GPU_NO_DEVICE', `the webgpu device process did not open an adapter within ${opts.startTimeoutMs ?? 60_000} ms`), opts.startTimeoutMs ?? 60_000);
      const settle = () => {
        clearTimeout(timer);
        proc.off('message', onMessage);
        proc.off('error', onError);
        proc.off('exit', onExit);
      };
      const fail = (code: string, message: string) => {
        settle();
        proc.kill('SIGKILL');
        reject(new RoamError(code, message));
      };
      const onMessage = (m: FromDevice) => {
        if ('ready' in m) {
          settle();
          idle(child); // an idle device process keeps no process alive; requests hold it (request())
          resolve({ child, ready: m });
        } else if ('failed' in m) fail(m.failed.code, m.failed.message);
      };
      const onError = (e: Error) => fail('E_GPU_NO_DEVICE', `the webgpu device process could not start: ${e.message}`);
      const onExit = (code: number | null, sig: string | null) => fail('E_GPU_NO_DEVICE', `the webgpu device process exited while opening the adapter (${sig ?? `exit ${code}`})${lastLine(log)}`);
      proc.on('message', onMessage);
      proc.on('error', onError);
      proc.on('exit', onExit);
    });
  }

  /** Replies, loss reports and the process's end, for a running child. */
  private watch(c: Child): void {
    c.proc.on('message', (m: FromDevice) => {
      if ('lost' in m) return this.died(c, `the webgpu device was lost (${m.lost})`);
      if (!('seq' in m)) return;
      const p = c.pending.get(m.seq);
      if (!p) return;
      c.pending.delete(m.seq);
      if (c.pending.size === 0) idle(c);
      if (m.ok) p.resolve(m.value);
      else p.reject(new RoamError(m.code, m.message));
    });
    c.proc.on('error', (e) => this.died(c, `the webgpu device process failed: ${e.message}`));
    c.proc.on('exit', (code, sig) => this.died(c, `the webgpu device process ended (${sig ?? `exit ${code}`})${lastLine(this.log)}`));
  }

  private died(c: Child, why: string): void {
    if (c.dead) return;
    c.dead = why;
    if (!this.closed) this.losses++;
    for (const p of c.pending.values()) p.reject(new RoamError('E_GPU_DEVICE_LOST', why));
    c.pending.clear();
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    if (this.child === c) this.child = undefined;
  }

  /** The running device process, starting a new one after a loss. */
  private async live(): Promise<Child> {
    if (this.closed) throw new RoamError('E_GPU_CLOSED', 'the webgpu device is closed');
    if (this.child && !this.child.dead) return this.child;
    this.starting ??= ProcessGpuDevice.spawn(this.opts, ++this.gens, this.log).then(
      ({ child }) => {
        this.starting = undefined;
        this.watch(child);
        return (this.child = child);
      },
      (e) => {
        this.starting = undefined;
        throw e;
      },
    );
    return this.starting;
  }

  /** The device process's pid (tests kill it to simulate a driver crash). */
  get pid(): number | undefined {
    return this.child?.proc.pid;
  }

  /** Destroys the WebGPU device in the device process, as a driver reset loses it. */
  simulateLoss(): void {
    this.child?.proc.send({ op: 'lose' } satisfies ToDevice);
  }

  /** Recent Dawn stderr lines (hidden unless ROAM_GPU_DEBUG=1). */
  dawnLog(): string[] {
    return [...this.log];
  }

  async ready(): Promise<void> {}

  get counters(): DeviceCounters {
    return this.buffers.counters;
  }

  createBuffer(bytes: number): number {
    const size = BufferTable.size(bytes);
    const c = this.child && !this.child.dead ? this.child : undefined;
    if (c) {
      const id = this.buffers.add(c.gen, size);
      c.proc.send({ op: 'create', id, bytes: size } satisfies ToDevice);
      return id;
    }
    // After a loss: the buffer belongs to the process being started; it is created there once it
    // runs, before any later request (those wait for the same start).
    const next = this.live();
    const id = this.buffers.add(this.starting ? this.gens : -1, size);
    void next.then((nc) => {
      if (this.buffers.bytes(id) !== undefined && !nc.dead) nc.proc.send({ op: 'create', id, bytes: size } satisfies ToDevice);
    }, () => {});
    return id;
  }

  destroyBuffer(id: number): void {
    const gen = this.buffers.remove(id);
    const c = this.child;
    if (c && !c.dead && gen === c.gen) c.proc.send({ op: 'destroy', id } satisfies ToDevice);
  }

  bufferBytes(id: number): number | undefined {
    return this.buffers.bytes(id);
  }

  /** Sends a request to the live device process; fails if a buffer or kernel named belongs to an earlier (lost) one. */
  private async request(m: Request, bufferIds: number[], kernelIds: number[] = []): Promise<unknown> {
    const c = await this.live();
    for (const id of bufferIds) {
      if (this.buffers.get(id) !== c.gen) throw new RoamError('E_GPU_DEVICE_LOST', `gpu buffer ${id} was lost with the device it lived on; create it again`);
    }
    for (const k of kernelIds) {
      if (this.kernels.get(k)?.gen !== c.gen) throw new RoamError('E_GPU_DEVICE_LOST', `gpu kernel ${k} was lost with the device it was compiled for; compile it again`);
    }
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      if (c.pending.size === 0) busy(c);
      c.pending.set(seq, { resolve, reject });
      c.proc.send({ ...m, seq } as ToDevice);
    });
  }

  async write(id: number, offset: number, data: Uint8Array): Promise<void> {
    await this.request({ op: 'write', id, offset, data }, [id]);
  }

  async read(id: number, offset: number, len: number): Promise<Uint8Array> {
    return (await this.request({ op: 'read', id, offset, len }, [id])) as Uint8Array;
  }

  async compile(source: string, entryPoint: string, bufferCount: number): Promise<number> {
    const c = await this.live();
    const kernel = this.nextKernel++;
    await this.request({ op: 'compile', kernel, source, entryPoint, buffers: bufferCount }, []);
    this.kernels.set(kernel, { gen: c.gen, buffers: bufferCount });
    return kernel;
  }

  userKernel(kernel: number): { buffers: number; workgroups: number } | undefined {
    const k = this.kernels.get(kernel);
    return k ? { buffers: k.buffers, workgroups: 0 } : undefined;
  }

  async run(batch: DeviceDispatch[]): Promise<number> {
    const ms = (await this.request({ op: 'run', batch }, [...new Set(batch.flatMap((d) => d.buffers))], batch.filter((d) => d.kernel >= USER_KERNEL_BASE).map((d) => d.kernel))) as number;
    this.buffers.ran(batch.length);
    return ms;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const c = this.child;
    if (c && !c.dead) {
      const exited = new Promise((r) => c.proc.once('exit', r));
      // The device process frees its buffers and device, answers and exits; one that hangs is killed.
      const t = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
      await this.request({ op: 'close' }, []).catch(() => {});
      this.closed = true;
      await exited;
      clearTimeout(t);
    }
    this.closed = true;
    for (const id of this.buffers.ids()) this.buffers.remove(id);
  }
}

/** Requests in flight keep this process alive (a reply is coming); an idle device process does not. */
function busy(c: Child): void {
  c.proc.ref();
  c.proc.channel?.ref();
}
function idle(c: Child): void {
  c.proc.unref();
  c.proc.channel?.unref();
  (c.proc.stderr as { unref?: () => void } | null)?.unref?.();
}

type Request = ToDevice extends infer T ? (T extends { seq: number } ? Omit<T, 'seq'> : never) : never;

const lastLine = (log: string[]): string => {
  const l = log.filter((s) => !/artificially reduced/.test(s)).at(-1);
  return l ? `: ${l.slice(0, 300)}` : '';
};
