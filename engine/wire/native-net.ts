/**
 * Wire connections served by native-host's roam_netio instead of Node's streams (native-host/src/netio.cc).
 *
 * Why: with small pipelined frames Node's socket machinery (a Buffer per read, the stream state machines,
 * a write request per write) cost ~1 µs of server CPU per request here, as much as redis-server's whole
 * work per request. roam_netio watches the fd from the same event loop, reads into one input buffer and
 * calls back once per read; replies go out with one write(2) per flush, no copy. Accepting stays with
 * Node (net.Server, the shared HTTP port): an accepted socket is handed over by its fd, duplicated, and
 * Node's handle closed.
 */
import type net from 'node:net';
import { createRequire } from 'node:module';

/** What the wire server needs of a connection, served by Node or natively. */
export interface ByteStream {
  /** Sends b[0, len). `copies`: the bytes are taken before write returns, so b may be reused at once;
   *  otherwise `written` is called once b may be reused (written, or dropped with the connection). */
  write(b: Buffer, len: number, written?: () => void): void;
  readonly copies: boolean;
  /** Sends what is queued, then closes the sending side. */
  end(): void;
  destroy(): void;
  /** Bytes written but not yet taken by the kernel (queued here or in Node's socket). */
  pending(): number;
  /** Stops (true) or restarts (false) reading: backpressure against a peer that does not read its replies. */
  pause(paused: boolean): void;
}

export interface StreamEvents {
  /** A chunk read; a view into a buffer reused by the next read (copy what must outlive the call). */
  data(chunk: Buffer): void;
  close(): void;
  /** Replies that had to wait for the peer have all been taken by the kernel. */
  drain(): void;
  /** The peer half-closed (Node's sockets only: roam_netio sends what is queued, then closes, itself). */
  end?(): void;
}

interface NetioAddon {
  init(onEvent: (id: number, n: number) => void): ArrayBuffer;
  attach(fd: number): number;
  write(id: number, b: Uint8Array, len: number): boolean;
  end(id: number): void;
  destroy(id: number): void;
  pause(id: number, paused: boolean): void;
  pending(id: number): number;
  stats(): [number, number, number];
}

class NativeStream implements ByteStream {
  readonly copies = true;
  constructor(private readonly addon: NetioAddon, readonly id: number) {}
  write(b: Buffer, len: number): void {
    this.addon.write(this.id, b, len);
  }
  end(): void {
    this.addon.end(this.id);
  }
  destroy(): void {
    this.addon.destroy(this.id);
  }
  pending(): number {
    return this.addon.pending(this.id);
  }
  pause(paused: boolean): void {
    this.addon.pause(this.id, paused);
  }
}

/** The native connections of this thread (one roam_netio state per thread). */
export class NativeNet {
  private readonly conns = new Map<number, StreamEvents>();
  private readonly input: Buffer;

  constructor(private readonly addon: NetioAddon) {
    this.input = Buffer.from(
      addon.init((id, n) => {
        const ev = this.conns.get(id);
        if (!ev) return;
        if (n > 0) return ev.data(this.input.subarray(0, n));
        if (n < 0) return ev.drain();
        this.conns.delete(id);
        ev.close();
      }),
    );
  }

  /**
   * Takes over an accepted socket (paused, or fresh from a `pauseOnConnect` server): null when it has no
   * fd to take (not TCP, already closed), and the caller serves it with Node. Bytes Node already read
   * are the caller's to feed.
   */
  adopt(socket: net.Socket, events: StreamEvents): ByteStream | null {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return null;
    const id = this.addon.attach(fd);
    // Node's handle goes; the duplicate keeps the connection open (closing one of two fds sends nothing).
    socket.destroy();
    this.conns.set(id, events);
    return new NativeStream(this.addon, id);
  }

  /** Reads, writes, and writes the kernel did not take at once (queued for writability). */
  stats(): { reads: number; writes: number; queuedWrites: number } {
    const [reads, writes, queuedWrites] = this.addon.stats();
    return { reads, writes, queuedWrites };
  }
}

let shared: NativeNet | null | undefined;

/** This thread's NativeNet, or null when the addon is not built (or ROAM_NATIVE_IO=0): serve with Node. */
export function nativeNet(): NativeNet | null {
  if (shared !== undefined) return shared;
  shared = null;
  if (process.env.ROAM_NATIVE_IO === '0') return null;
  try {
    const addon = createRequire(import.meta.url)('../../native-host/build/Release/roam_netio.node') as NetioAddon;
    shared = new NativeNet(addon);
  } catch {
    // not built (no C++ toolchain at install): Node's sockets serve
  }
  return shared;
}

/** A Node socket as a ByteStream (the fallback, and the way a non-TCP socket is served). */
export function nodeStream(socket: net.Socket, events: StreamEvents): ByteStream {
  socket.setNoDelay(true);
  // Called as methods of `events` (a connection object may be its own event sink), as roam_netio does.
  socket.on('data', (c: Buffer) => events.data(c));
  socket.on('error', () => {});
  socket.on('close', () => events.close());
  socket.on('drain', () => events.drain());
  // Sockets are accepted half-open capable (the HTTP server's, listenWire's): the owner ends its side once
  // it has answered what it read (without a handler a peer's FIN left the connection open for good).
  socket.on('end', () => (events.end ? events.end() : socket.end()));
  return {
    copies: false,
    write(b, len, written) {
      if (!socket.destroyed && socket.writable) socket.write(len === b.length ? b : b.subarray(0, len), written);
      else written?.();
    },
    end: () => socket.end(),
    destroy: () => socket.destroy(),
    pending: () => socket.writableLength,
    pause: (paused) => void (paused ? socket.pause() : socket.resume()),
  };
}
