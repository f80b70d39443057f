import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { MAGIC } from '../wire/frame.ts';
import { log as engineLog } from '../observe/log.ts';

/** Bounds on the connections of one port (`roam serve` flags; 0 = no bound). */
export interface PortLimits {
  /** Connections open at once (default 4096). */
  maxConnections: number;
  /** Connections open at once from one remote address (default 256). */
  maxPerAddress: number;
  /** A connection that sends nothing for this long after accept is closed (default 10 s). */
  firstByteMs: number;
  /** HTTP: a request whose headers are not complete this long after its first byte is closed (default 10 s). */
  headersMs: number;
}

export interface SharedPort {
  stats: PortStats;
  dropSilent(): void;
}

export const DEFAULT_PORT_LIMITS: PortLimits = { maxConnections: 4096, maxPerAddress: 256, firstByteMs: 10_000, headersMs: 10_000 };

/** What the port has refused or closed, for tests and /v1/stats-style reporting. */
export interface PortStats {
  open: number;
  refusedServer: number;
  refusedAddress: number;
  firstByteTimeouts: number;
}

/**
 * Lets one listening port speak HTTP and the roam wire protocol: each new connection's first byte
 * decides (wire frames start with MAGIC, 0xB7, which no HTTP request line can). Wire sockets go to `onWire`; the rest go to the HTTP server's own connection handling, with
 * the byte put back, so HTTP sees an untouched stream.
 *
 * Until the first byte arrives nobody else owns the socket, so this module owns its errors: a peer that
 * resets before sending anything (ECONNRESET) must cost one socket, never the process. The listener stays
 * after the hand-off: HTTP and the wire server add their own, and an error is then handled twice, harmlessly.
 *
 * It also bounds what idle or greedy peers can hold (issue 19: 100 of 100 silent connections were still
 * open after 75 s): a connection past `maxConnections` or `maxPerAddress` is closed at accept, one that
 * sends nothing within `firstByteMs` is closed, and HTTP's header timeout is `headersMs`. Each kind of
 * refusal is logged once per 10 s with a count, so a flood cannot fill the log. A wire connection counts
 * until the wire server reports it closed (`onWire`'s `closed`): roam_netio takes its fd and Node's socket
 * closes at once.
 */
export function shareHttpPort(
  server: Server,
  onWire: (socket: Socket, first: Buffer, closed: () => void) => void,
  limits: Partial<PortLimits> = {},
  log: (line: string) => void = (line) => engineLog('warn', line),
): SharedPort {
  const l = { ...DEFAULT_PORT_LIMITS, ...limits };
  const stats: PortStats = { open: 0, refusedServer: 0, refusedAddress: 0, firstByteTimeouts: 0 };
  const perAddress = new Map<string, number>();
  const report = rateLimited(log);
  if (l.headersMs > 0) {
    server.headersTimeout = l.headersMs;
    if (server.requestTimeout > 0 && server.requestTimeout < l.headersMs) server.requestTimeout = l.headersMs;
  }
  const httpHandlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  /** Connections that have not sent their first byte: nobody else knows them (see dropSilent). */
  const silent = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    socket.on('error', ignoreSocketError);
    const addr = socket.remoteAddress ?? 'unknown';
    const fromAddr = perAddress.get(addr) ?? 0;
    if (l.maxConnections > 0 && stats.open >= l.maxConnections) {
      stats.refusedServer++;
      report('server', `connection limit reached: ${l.maxConnections} open (--max-connections); refusing new connections`);
      return void socket.destroy();
    }
    if (l.maxPerAddress > 0 && fromAddr >= l.maxPerAddress) {
      stats.refusedAddress++;
      report(`addr ${addr}`, `connection limit reached for ${addr}: ${l.maxPerAddress} open (--max-per-address); refusing its new connections`);
      return void socket.destroy();
    }
    stats.open++;
    perAddress.set(addr, fromAddr + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      stats.open--;
      const n = perAddress.get(addr)! - 1;
      if (n === 0) perAddress.delete(addr);
      else perAddress.set(addr, n);
    };
    let wire = false;
    // Known to neither HTTP nor the wire server until its first byte: closeAllConnections() misses it, so
    // dropSilent() ends it when the server closes (server.close() would wait for it).
    silent.add(socket);
    const timer = l.firstByteMs > 0
      ? setTimeout(() => {
          stats.firstByteTimeouts++;
          report('first-byte', `closed a connection from ${addr} that sent nothing for ${l.firstByteMs} ms (--first-byte-ms)`);
          socket.destroy();
        }, l.firstByteMs)
      : null;
    socket.once('close', () => {
      silent.delete(socket);
      if (timer) clearTimeout(timer);
      if (!wire) release();
    });
    socket.once('data', (chunk: Buffer) => {
      silent.delete(socket);
      if (timer) clearTimeout(timer);
      socket.pause();
      if (chunk[0] === MAGIC) {
        wire = true;
        return onWire(socket, chunk, release);
      }
      socket.unshift(chunk);
      for (const h of httpHandlers) h.call(server, socket);
      socket.resume();
    });
  });
  return {
    stats,
    /** Ends every connection still waiting for its first byte: call when the server closes. */
    dropSilent() {
      for (const socket of silent) socket.destroy();
    },
  };
}

/** A reset or broken pipe ends that connection; 'close' follows and frees it. */
function ignoreSocketError(): void {}

/** One line per kind per 10 s, with the count of the same events it stood for. */
function rateLimited(log: (line: string) => void): (kind: string, line: string) => void {
  const last = new Map<string, { at: number; skipped: number }>();
  return (kind, line) => {
    const now = Date.now();
    const e = last.get(kind);
    if (e && now - e.at < 10_000) {
      e.skipped++;
      return;
    }
    if (last.size > 1024) last.clear(); // per-address kinds: bounded
    log(e?.skipped ? `${line} (${e.skipped} more since the last line)` : line);
    last.set(kind, { at: now, skipped: 0 });
  };
}
