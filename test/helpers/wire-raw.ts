import net from 'node:net';
import { readFileSync } from 'node:fs';
import { encodeFrame, HEADER, Kind, type Frame } from '../../engine/wire/frame.ts';

/** A reply as received: the header fields, the payload's length, and a copy of it when ≤ 64 KiB. */
export type Reply = Omit<Frame, 'payload'> & { payload: Buffer; length: number };

/**
 * A raw wire connection for tests and fuzzers: frames out as given (valid or not), replies in as parsed.
 * Not the client library: hostile traffic needs control over every byte.
 */
export class RawWire {
  readonly replies: Reply[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  /** The reply being received: header read, `left` payload bytes to come, kept in `parts` when small. */
  private head = Buffer.alloc(0);
  private cur: Reply | null = null;
  private left = 0;
  private parts: Buffer[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.take(c);
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawWire> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.off('error', reject);
        resolve(new RawWire(s));
      });
      s.once('error', reject);
    });
  }

  /** Parses replies without copying large payloads (a 1 MiB reply in 64 KiB reads is counted, not kept). */
  private take(c: Buffer): void {
    let at = 0;
    while (at < c.length) {
      if (!this.cur) {
        const need = HEADER - this.head.length;
        this.head = Buffer.concat([this.head, c.subarray(at, at + need)]);
        at += Math.min(need, c.length - at);
        if (this.head.length < HEADER) return;
        const h = this.head;
        this.head = Buffer.alloc(0);
        const length = h.readUInt32LE(12);
        this.cur = { kind: h[2]!, place: h[3]! & 15, flags: h[3]! >> 4, id: h.readUInt32LE(4), bundle: h.readUInt16LE(8), code: h.readUInt16LE(10), payload: Buffer.alloc(0), length };
        this.left = length;
      }
      const n = Math.min(this.left, c.length - at);
      if (this.cur.length <= 65536) this.parts.push(Buffer.from(c.subarray(at, at + n)));
      at += n;
      this.left -= n;
      if (this.left === 0) {
        this.cur.payload = Buffer.concat(this.parts);
        this.parts = [];
        this.replies.push(this.cur);
        this.cur = null;
      }
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `pred` holds over what arrived, or false when the connection closed first. */
  async until(pred: () => boolean): Promise<boolean> {
    while (!pred()) {
      if (this.closed) return false;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return true;
  }

  send(b: Uint8Array): void {
    this.socket.write(b);
  }

  /** Sends one frame and resolves with the reply carrying its id (null: the connection closed first). */
  async request(kind: number, id: number, bundle: number, code: number, payload: Uint8Array): Promise<Reply | null> {
    this.send(encodeFrame({ kind, place: 0, flags: 0, id, bundle, code }, payload));
    let r: Reply | undefined;
    await this.until(() => (r = this.replies.find((x) => x.id === id)) !== undefined);
    return r ?? null;
  }

  /** RESOLVE: the bundle's wire id. */
  async resolve(name: string, id = 0x7fff0000): Promise<number> {
    const r = await this.request(Kind.RESOLVE, id, 0, 0, Buffer.from(name));
    if (!r || r.kind !== Kind.REPLY) throw new Error(`RESOLVE ${name}: ${r ? r.payload.toString() : 'closed'}`);
    this.replies.splice(this.replies.indexOf(r), 1);
    return r.bundle;
  }

  async stats(id = 0x7ffe0000): Promise<{ stats: Record<string, number> }> {
    const r = await this.request(Kind.STATS, id, 0, 0, new Uint8Array(0));
    if (!r) throw new Error('STATS: connection closed');
    this.replies.splice(this.replies.indexOf(r), 1);
    return JSON.parse(r.payload.toString()) as { stats: Record<string, number> };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A REGION_READ payload: u32 offset, u32 length. */
export function regionReadPayload(offset: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(offset, 0);
  b.writeUInt32LE(length, 4);
  return b;
}

/** Resident memory of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
