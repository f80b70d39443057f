import { RoamError } from '../errors.ts';
import { AtomicOp } from '../wire/frame.ts';
import type { BoundRegion } from '../regions/region-store.ts';

/** Default lease on a seqlock taken over a connection (ms). */
export const DEFAULT_LEASE_MS = 2000;
/** Most old bytes one connection's undo log keeps; a write past it gets E_LEASE_UNDO_FULL. */
export const UNDO_CAP_BYTES = 64 * 1024;

/** Counters the server exposes (WireServerStats). */
export interface LeaseCounters {
  leasesBroken: number;
  /** Old bytes copied into undo logs (writes sent while a lease was held). */
  undoLogged: number;
  /** Old bytes written back when a lease was broken. */
  undoRestored: number;
}

interface Lease {
  bundle: number;
  region: number;
  offset: number;
  word: Uint32Array;
  index: number;
  /** The odd value the lock word holds while this connection owns it. */
  held: number;
  timer: NodeJS.Timeout;
}

interface Undo {
  u8: Uint8Array;
  offset: number;
  old: Uint8Array;
  /** The lock the write is taken to belong to; undefined: none in its region, kept until no lease is held. */
  owner: Lease | undefined;
}

/**
 * Leases on the seqlocks a connection takes with remote atomics (Cell/FaRM style). A put at the client
 * place locks a slot with CAS_U32 even v → v + 1, writes the record with REGION_WRITEs and releases it with
 * a store; if the client dies in between, the slot would stay locked. The server notes each such CAS as a
 * lease; when the connection closes or a lease expires it breaks the connection's locks with CAS
 * v + 1 → v + 2, so readers retry and writers can take the lock again.
 *
 * Undo log: while the connection holds a lease, each REGION_WRITE first copies the bytes it overwrites.
 * A break writes them back, newest first, before moving the lock words on, so readers see exactly the old
 * record however many frames the update had sent (restoring under the still-held lock is safe: the
 * seqlock keeps other writers out). A write belongs to the nearest held lock at or before it in the same
 * region (a seqlock word heads the record it guards, as kv's slots do); releasing that lock drops its
 * entries, since the record is then published and may be locked by others. Entries with no such lock are
 * kept until the connection holds no lease. A break of any lease breaks all of the connection's locks: a
 * multi-lock update is rolled back as a whole for the records still locked. Writes without a lease are not
 * logged. The log holds at most UNDO_CAP_BYTES old bytes; a write past that is refused (E_LEASE_UNDO_FULL)
 * rather than applied without a way back.
 *
 * After a break the holder may still be running: its next region write, or its release of a broken lock,
 * is refused with E_LEASE_EXPIRED (failing the message that held the lock) rather than landing while
 * another writer may hold the slot.
 */
export class ConnectionLeases {
  private readonly held = new Map<string, Lease>();
  private readonly expired = new Set<string>();
  private undo: Undo[] = [];
  private undoSize = 0;
  private closed = false;

  constructor(
    private readonly leaseMs = DEFAULT_LEASE_MS,
    private readonly counters: LeaseCounters = { leasesBroken: 0, undoLogged: 0, undoRestored: 0 },
    private readonly undoCap = UNDO_CAP_BYTES,
  ) {}

  /** Before an atomic on `region` at `offset`: refuses a stale holder's release of an expired lock. */
  beforeAtomic(bundle: number, regionIndex: number, op: number, offset: number): void {
    if (op === AtomicOp.LOAD_U32 || this.expired.size === 0) return;
    const k = `${bundle}:${regionIndex}:${offset}`;
    if (this.expired.delete(k)) throw new RoamError('E_LEASE_EXPIRED', `the lease on the lock at offset ${offset} expired after ${this.leaseMs} ms and the server broke it; this update was refused`);
  }

  /** After an atomic: a CAS that took a seqlock starts a lease; a store or CAS on a leased word ends it. */
  afterAtomic(bundle: number, regionIndex: number, r: BoundRegion, op: number, offset: number, a: bigint, b: bigint, old: bigint): void {
    const k = `${bundle}:${regionIndex}:${offset}`;
    const lease = this.held.get(k);
    if (lease && (op === AtomicOp.STORE_U32 || op === AtomicOp.CAS_U32 || op === AtomicOp.ADD_U32)) {
      clearTimeout(lease.timer);
      this.held.delete(k);
      this.dropUndo(lease);
    }
    const took = op === AtomicOp.CAS_U32 && old === a && (a & 1n) === 0n && b === a + 1n;
    if (!took || this.closed) return;
    this.expired.delete(k);
    const timer = setTimeout(() => this.breakAll(), this.leaseMs);
    timer.unref();
    this.held.set(k, { bundle, region: regionIndex, offset, word: r.u32, index: offset >>> 2, held: Number(b), timer });
  }

  /** Before a region write of `len` bytes at `offset`: refuses a holder whose lease was broken; logs the old bytes while a lease is held. */
  beforeWrite(bundle: number, regionIndex: number, r: BoundRegion, offset: number, len: number): void {
    if (this.expired.size !== 0) {
      this.expired.clear();
      throw new RoamError('E_LEASE_EXPIRED', `a lock this connection held expired after ${this.leaseMs} ms and the server broke it; this write was refused`);
    }
    if (this.held.size === 0 || len === 0) return;
    if (this.undoSize + len > this.undoCap) {
      throw new RoamError('E_LEASE_UNDO_FULL', `write of ${len} bytes under a lease would grow this connection's undo log past ${this.undoCap} bytes (${this.undoSize} in use); refused, release the lock first`);
    }
    let owner: Lease | undefined;
    for (const l of this.held.values()) {
      if (l.bundle === bundle && l.region === regionIndex && l.offset <= offset && (!owner || l.offset > owner.offset)) owner = l;
    }
    this.undo.push({ u8: r.u8, offset, old: r.u8.slice(offset, offset + len), owner });
    this.undoSize += len;
    this.counters.undoLogged += len;
  }

  /** The connection closed: every lock it still holds is rolled back and broken. Returns how many were. */
  close(): number {
    this.closed = true;
    return this.breakAll();
  }

  /** Restores the undo log (newest first) for locks still held, then moves every held lock word on. */
  private breakAll(): number {
    const stillHeld = (l: Lease) => Atomics.load(l.word, l.index) === l.held;
    for (let i = this.undo.length - 1; i >= 0; i--) {
      const u = this.undo[i]!;
      if (u.owner && !stillHeld(u.owner)) continue;
      u.u8.set(u.old, u.offset);
      this.counters.undoRestored += u.old.length;
    }
    this.undo = [];
    this.undoSize = 0;
    let broken = 0;
    for (const [k, l] of this.held) {
      clearTimeout(l.timer);
      if (Atomics.compareExchange(l.word, l.index, l.held, (l.held + 1) >>> 0) !== l.held) continue;
      broken++;
      this.counters.leasesBroken++;
      if (!this.closed) this.expired.add(k);
    }
    this.held.clear();
    return broken;
  }

  /** A lock was released: its writes are published and leave the log; all go once no lease is held. */
  private dropUndo(lease: Lease): void {
    if (this.undo.length === 0) return;
    this.undo = this.held.size === 0 ? [] : this.undo.filter((u) => u.owner !== lease);
    this.undoSize = this.undo.reduce((n, u) => n + u.old.length, 0);
  }

  get size(): number {
    return this.held.size;
  }

  /** Old bytes the undo log holds now. */
  get undoBytes(): number {
    return this.undoSize;
  }
}
