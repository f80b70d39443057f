// Seqlocked records read remotely, as kv's slots are laid out: a u32 version first, odd while a writer
// holds the record. A copy counts only if the version was even and unchanged around it; else retry.
//   'am' keys: one request (more only while writers keep it locked); the owner's addon copies the
//   record consistently, trying 1000 times per request (no owner JS).
//   'rma' keys: the client reads the record, then the version word atomically, itself (kv's readSlot).
// Retries are bounded by time, not count: a try costs 0.3 µs on shared memory but 20+ µs over TCP,
// and a writer preempted while holding the lock (2 cores, loaded) holds it for a scheduler slice.
import { RoamError } from '../errors.ts';
import { AtomicOp, type RemoteRegion } from './endpoint.ts';

/** How long a record may stay locked before the read fails E_RDMA_BUSY. */
export const SEQ_BUSY_MS = 200;

/** A consistent copy of the `length`-byte record at `offset` (4-aligned; version first); retries: copies discarded. */
export async function readRecord(remote: RemoteRegion, offset: number, length: number, busyMs = SEQ_BUSY_MS): Promise<{ bytes: Uint8Array; retries: number }> {
  if (length < 4 || offset % 4) throw new RoamError('E_RDMA_ALIGN', 'a seqlocked record is 4-aligned and starts with its u32 version');
  const bytes = new Uint8Array(length);
  const deadline = performance.now() + busyMs;
  let retries = 0;
  if (remote.mode === 'am') {
    for (;; retries++) {
      try {
        await remote.promise((d) => remote.seqGet(offset, bytes, d));
        return { bytes, retries };
      } catch (e) {
        if ((e as RoamError).code !== 'E_RDMA_BUSY' || performance.now() > deadline) throw e;
      }
    }
  }
  const io = new Uint8Array(16); // fetch-add 0: an atomic load of the version
  const dv = new DataView(bytes.buffer), iov = new DataView(io.buffer);
  for (;; retries++) {
    await remote.promise((d) => remote.get(offset, bytes, d));
    const v = dv.getUint32(0, true);
    if (!(v & 1)) {
      io.fill(0);
      await remote.promise((d) => remote.atomic(offset, AtomicOp.ADD, 4, io, d));
      if (iov.getUint32(8, true) === v) return { bytes, retries };
    }
    if ((retries & 63) === 63 && performance.now() > deadline)
      throw new RoamError('E_RDMA_BUSY', `the record at ${offset} stayed locked by writers for ${busyMs} ms`);
  }
}
