// The webgpu device process: Dawn lives here, alone, so that nothing it does (a driver crash, an
// abort at teardown, warnings written straight to fd 2) reaches the engine's process. The gpu
// service (process-device.ts) sends device operations over IPC; see process-protocol.ts.
import { isRoamError } from '../../errors.ts';
import { USER_KERNEL_BASE } from '../kernels/table.ts';
import { openDawn } from './adapter.ts';
import { WebGpuDevice } from './device.ts';
import type { FromDevice, ToDevice } from './process-protocol.ts';

const send = (m: FromDevice): void => void process.send!(m);
const memoryBytes = Number(process.env.ROAM_GPU_MEMORY_BYTES) || 2 ** 30;

// The parent went away (or closed the channel): nothing is left to serve.
process.on('disconnect', () => process.exit(0));

let dev: WebGpuDevice;
try {
  const d = await openDawn();
  dev = new WebGpuDevice(d.device, adapterLabel(d.info), memoryBytes, d.instance);
  send({ ready: d.info, maxBufferBytes: dev.info.maxBufferBytes });
} catch (e) {
  send({ failed: { code: isRoamError(e) ? e.code : 'E_GPU_NO_DEVICE', message: `webgpu device unavailable: ${(e as Error).message}` } });
  process.exit(0);
}

function adapterLabel(i: { vendor: string; device: string; description: string; software: boolean }): string {
  return `${[i.vendor, i.device, i.description].filter(Boolean).join(' ')}${i.software ? ' (software renderer)' : ''}`;
}

let closing = false;
// A lost device cannot come back: report it and exit; the service opens a new process on next use.
void dev.lost.then((reason) => {
  if (closing) return;
  send({ lost: reason });
  setImmediate(() => process.exit(0));
});

const buffers = new Map<number, number>(); // parent id → device id
const kernels = new Map<number, number>();
const local = (m: Map<number, number>, id: number): number => m.get(id) ?? -1;

async function handle(m: ToDevice): Promise<unknown> {
  switch (m.op) {
    case 'write': return dev.write(local(buffers, m.id), m.offset, m.data);
    case 'read': return dev.read(local(buffers, m.id), m.offset, m.len);
    case 'compile': kernels.set(m.kernel, await dev.compile(m.source, m.entryPoint, m.buffers)); return undefined;
    case 'run': return dev.run(m.batch.map((d) => ({ kernel: d.kernel >= USER_KERNEL_BASE ? local(kernels, d.kernel) : d.kernel, params: d.params, buffers: d.buffers.map((b) => local(buffers, b)) })));
    case 'close': closing = true; return dev.close();
    default: return undefined;
  }
}

process.on('message', (m: ToDevice) => {
  // Buffer creation and destruction reply nothing: ids are the parent's, and an allocation failure
  // surfaces on the first operation that uses the buffer (WebGpuDevice.usable).
  if (m.op === 'create') {
    try {
      buffers.set(m.id, dev.createBuffer(m.bytes));
    } catch {
      /* a lost device: the next operation reports it */
    }
    return;
  }
  if (m.op === 'destroy') {
    const id = buffers.get(m.id);
    buffers.delete(m.id);
    if (id !== undefined) dev.destroyBuffer(id);
    return;
  }
  if (m.op === 'lose') return dev.loseForTest();
  void handle(m).then(
    (value) => send({ seq: m.seq, ok: true, value }),
    (e) => send({ seq: m.seq, ok: false, code: isRoamError(e) ? e.code : 'E_GPU_DEVICE', message: (e as Error)?.message ?? String(e) }),
  ).then(() => {
    if (m.op === 'close') process.exit(0);
  });
});
