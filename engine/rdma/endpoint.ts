// An endpoint to one peer's worker, and the remote regions reached through it.
import { RoamError } from '../errors.ts';
import type { Done, RdmaWorker } from './worker.ts';
import { chooseMode, parseLanes, type AccessMode, type Lanes } from './transports.ts';

export const AtomicOp = { ADD: 0, SWAP: 1, CSWAP: 2 } as const;

export class RdmaEndpoint {
  private dead: RoamError | null = null;
  private closed = false;
  private readonly errorHandlers: ((e: RoamError) => void)[] = [];
  private readonly remotes = new Set<RemoteRegion>();

  constructor(readonly worker: RdmaWorker, readonly index: number) {}

  /** The transports UCX chose for this endpoint, per kind of operation (from ucp_ep_print_info). */
  lanes(): Lanes {
    return parseLanes(this.worker.addon.epInfo(this.index));
  }

  /** Called once if the peer fails (its process died, its network went away). */
  onError(handler: (e: RoamError) => void): void {
    if (this.dead) handler(this.dead);
    else this.errorHandlers.push(handler);
  }

  get failure(): RoamError | null {
    return this.dead;
  }

  /**
   * A peer's region from its key. 'rma' runs reads, writes and atomics one-sided (ucp_get/put/atomic);
   * 'am' sends each as a request the owner's addon answers in its active-message handler; 'auto'
   * picks per transport (transports.ts says why).
   */
  unpack(key: Uint8Array, mode: AccessMode | 'auto' = 'auto'): RemoteRegion {
    this.check();
    const { length, allocated } = keyFields(key);
    const m = mode === 'auto' ? chooseMode(this.lanes(), allocated) : mode;
    const r = new RemoteRegion(this, this.worker.addon.unpack(this.index, key, m === 'am'), m, length);
    this.remotes.add(r);
    return r;
  }

  /** An active message (id < 60000); resolves when sent (the buffers may be reused then). */
  send(id: number, header: Uint8Array, data: Uint8Array = EMPTY): Promise<void> {
    this.check();
    return new Promise((resolve, reject) => {
      const w = this.worker;
      const rid = w.request((e) => (e ? reject(e) : resolve()), 'active message');
      if (w.settle(rid, w.addon.amSend(this.index, id, header, data, rid), 'active message')) resolve();
    });
  }

  /** Completes when every operation issued so far on this endpoint completed at its target. */
  flush(): Promise<void> {
    this.check();
    return new Promise((resolve, reject) => {
      const w = this.worker;
      const id = w.request((e) => (e ? reject(e) : resolve()), 'flush');
      if (w.settle(id, w.addon.flush(this.index, id), 'flush')) resolve();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.remotes) r.dropped();
    this.worker.addon.disconnect(this.index);
    this.worker.forget(this);
  }

  failed(e: RoamError): void {
    if (this.dead) return;
    this.dead = e;
    for (const h of this.errorHandlers.splice(0)) h(e);
  }

  check(): void {
    if (this.closed) throw new RoamError('E_RDMA_CLOSED', 'the endpoint was closed');
    if (this.dead) throw this.dead;
  }

  forget(r: RemoteRegion): void {
    this.remotes.delete(r);
  }
}

const EMPTY = new Uint8Array(0);
/** From roam's key header (native-host/src/ucx.cc KeyHdr): the region's length and whether UCX allocated it. */
function keyFields(key: Uint8Array): { length: number; allocated: boolean } {
  if (key.byteLength < 48) throw new RoamError('E_RDMA_KEY', `a roam key is at least 48 bytes, got ${key.byteLength}`);
  const dv = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return { length: Number(dv.getBigUint64(32, true)), allocated: (dv.getUint32(40, true) & 1) === 1 };
}

/**
 * A region of a peer. The callback forms (get/put/atomic) are the hot path: they return true when the
 * operation completed in place (done is not called) and false when it is pending (done runs once,
 * later, from a batch); pass the same `done` every time to allocate nothing per operation.
 */
export class RemoteRegion {
  private live = true;

  constructor(readonly endpoint: RdmaEndpoint, private readonly rkey: number, readonly mode: AccessMode, readonly length: number) {}

  get(offset: number, dest: Uint8Array, done: Done): boolean {
    const w = this.endpoint.worker;
    const id = w.request(done, 'remote read');
    return w.settle(id, w.addon.get(this.rkey, offset, dest, id), 'remote read');
  }

  put(offset: number, src: Uint8Array, done: Done): boolean {
    const w = this.endpoint.worker;
    const id = w.request(done, 'remote write');
    return w.settle(id, w.addon.put(this.rkey, offset, src, id), 'remote write');
  }

  /** io (16 bytes): [operand, result]; for CSWAP operand is the expected value and result holds the new value going in. */
  atomic(offset: number, op: number, width: 4 | 8, io: Uint8Array, done: Done): boolean {
    const w = this.endpoint.worker;
    const id = w.request(done, 'remote atomic');
    return w.settle(id, w.addon.atomic(this.rkey, offset, op, width, io, id), 'remote atomic');
  }

  /** 'am' keys only: the owner's addon copies the seqlocked record at offset into dest (seqlock.ts). */
  seqGet(offset: number, dest: Uint8Array, done: Done): boolean {
    const w = this.endpoint.worker;
    const id = w.request(done, 'seqlocked read');
    return w.settle(id, w.addon.seqRead(this.rkey, offset, dest, id), 'seqlocked read');
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    const dest = new Uint8Array(length);
    return this.promise((d) => this.get(offset, dest, d)).then(() => dest);
  }

  write(offset: number, bytes: Uint8Array): Promise<void> {
    return this.promise((d) => this.put(offset, bytes, d));
  }

  fetchAdd(offset: number, value: bigint, width: 4 | 8 = 8): Promise<bigint> {
    return this.amo(offset, AtomicOp.ADD, width, value, 0n);
  }

  swap(offset: number, value: bigint, width: 4 | 8 = 8): Promise<bigint> {
    return this.amo(offset, AtomicOp.SWAP, width, value, 0n);
  }

  /** Sets the word to `desired` if it holds `expected`; resolves with the old value either way. */
  compareSwap(offset: number, expected: bigint, desired: bigint, width: 4 | 8 = 8): Promise<bigint> {
    return this.amo(offset, AtomicOp.CSWAP, width, expected, desired);
  }

  /**
   * The whole region as a SharedArrayBuffer mapped into this process: a peer on this machine whose
   * region UCX allocated (posix/sysv shared memory). Loads, stores and Atomics on it reach the owner's
   * memory with no call at all (a client place can run its guest on it as on local memory). Throws
   * E_RDMA_MAP elsewhere. The mapping stays readable after a revocation or the owner's exit (the
   * memory stays attached until the buffer is collected): whoever holds it must stop using it on
   * `endpoint.onError` or a revocation, which nothing here can enforce.
   */
  map(): SharedArrayBuffer {
    if (!this.live) throw new RoamError('E_RDMA_CLOSED', 'the remote region was dropped');
    return this.endpoint.worker.addon.map(this.rkey);
  }

  /** Forgets the key here (the owner's registration is untouched). */
  drop(): void {
    if (!this.live) return;
    this.dropped();
    this.endpoint.worker.addon.dropKey(this.rkey);
    this.endpoint.forget(this);
  }

  dropped(): void {
    this.live = false;
  }

  private amo(offset: number, op: number, width: 4 | 8, a: bigint, b: bigint): Promise<bigint> {
    const io = new Uint8Array(16);
    const dv = new DataView(io.buffer);
    dv.setBigUint64(0, BigInt.asUintN(64, a), true);
    dv.setBigUint64(8, BigInt.asUintN(64, b), true);
    return this.promise((d) => this.atomic(offset, op, width, io, d)).then(() =>
      width === 8 ? dv.getBigUint64(8, true) : BigInt(dv.getUint32(8, true)),
    );
  }

  promise(issue: (done: Done) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.live) return reject(new RoamError('E_RDMA_CLOSED', 'the remote region was dropped'));
      try {
        if (issue((e) => (e ? reject(e) : resolve()))) resolve();
      } catch (e) {
        reject(e);
      }
    });
  }
}
