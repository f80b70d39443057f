import { BufferTable, type DeviceCounters, type DeviceDispatch, type DeviceInfo, type GpuDevice } from '../engine/gpu/device.ts';

/**
 * A device that computes nothing and reports a fixed device time per dispatch, so scheduler tests
 * can assert what the scheduler decided (batch sizes, caps) independent of how loaded the machine is.
 */
export class FakeDevice implements GpuDevice {
  readonly info: DeviceInfo;
  private readonly buffers = new BufferTable<Uint8Array>();
  /** The batches run, in order. */
  readonly runs: DeviceDispatch[][] = [];

  constructor(private readonly msPerDispatch: number, slots = 1) {
    this.info = { kind: 'cpu', label: 'fake device (tests)', slots, memoryBytes: 2 ** 30, maxBufferBytes: 2 ** 30, wgsl: false };
  }

  get counters(): DeviceCounters {
    return this.buffers.counters;
  }
  async ready(): Promise<void> {}
  createBuffer(bytes: number): number {
    const size = BufferTable.size(bytes);
    return this.buffers.add(new Uint8Array(size), size);
  }
  destroyBuffer(id: number): void {
    this.buffers.remove(id);
  }
  bufferBytes(id: number): number | undefined {
    return this.buffers.bytes(id);
  }
  async write(id: number, offset: number, data: Uint8Array): Promise<void> {
    this.buffers.get(id).set(data, offset);
  }
  async read(id: number, offset: number, len: number): Promise<Uint8Array> {
    return this.buffers.get(id).slice(offset, offset + len);
  }
  async compile(): Promise<number> {
    throw new Error('not supported');
  }
  userKernel(): undefined {
    return undefined;
  }
  async run(batch: DeviceDispatch[]): Promise<number> {
    this.buffers.ran(batch.length);
    this.runs.push(batch.map((d) => ({ ...d, buffers: [...d.buffers], params: [...d.params] })));
    await new Promise((r) => setTimeout(r, 1));
    return this.msPerDispatch * batch.length;
  }
  async close(): Promise<void> {}
}
