import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { MAGIC } from '../wire/frame.ts';

/**
 * Lets one listening port speak HTTP and the roam wire protocol: each new connection's first byte
 * decides (wire frames start with MAGIC, 0xB7, which no HTTP request line can). Wire sockets go to `onWire`; the rest go to the HTTP server's own connection handling, with
 * the byte put back, so HTTP sees an untouched stream.
 *
 * Until the first byte arrives nobody else owns the socket, so this module owns its errors: a peer that
 * resets before sending anything (ECONNRESET) must cost one socket, never the process. The listener stays
 * after the hand-off: HTTP and the wire server add their own, and an error is then handled twice, harmlessly.
 */
export function shareHttpPort(server: Server, onWire: (socket: Socket, first: Buffer) => void): { dropSilent(): void } {
  const httpHandlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  /** Connections that have not sent their first byte: nobody else knows them (see dropSilent). */
  const silent = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    socket.on('error', ignoreSocketError);
    // A connection that says nothing (a browser's speculative preconnect, a slowloris) is dropped after
    // FIRST_BYTE_MS, or at once when the server closes: neither HTTP nor the wire server knows it yet, so
    // closeAllConnections() misses it and server.close() would wait for it forever.
    silent.add(socket);
    socket.once('close', () => silent.delete(socket));
    socket.setTimeout(FIRST_BYTE_MS);
    socket.on('timeout', dropSilent);
    socket.once('data', (chunk: Buffer) => {
      silent.delete(socket);
      socket.setTimeout(0);
      socket.off('timeout', dropSilent);
      socket.pause();
      if (chunk[0] === MAGIC) return onWire(socket, chunk);
      socket.unshift(chunk);
      for (const h of httpHandlers) h.call(server, socket);
      socket.resume();
    });
  });
  return {
    /** Ends every connection still waiting for its first byte: call when the server closes. */
    dropSilent() {
      for (const socket of silent) socket.destroy();
    },
  };
}

/** How long a new connection may stay silent before its first byte. */
export const FIRST_BYTE_MS = 10_000;

function dropSilent(this: Socket): void {
  this.destroy();
}

/** A reset or broken pipe ends that connection; 'close' follows and frees it. */
function ignoreSocketError(): void {}
