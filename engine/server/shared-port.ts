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
export function shareHttpPort(server: Server, onWire: (socket: Socket, first: Buffer) => void): void {
  const httpHandlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    socket.on('error', ignoreSocketError);
    // A connection that says nothing (a browser's speculative preconnect, a slowloris) is dropped after
    // FIRST_BYTE_MS: neither HTTP nor the wire server knows it yet, so nothing else would, and the
    // server's close() would wait for it forever.
    socket.setTimeout(FIRST_BYTE_MS);
    socket.on('timeout', dropSilent);
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.off('timeout', dropSilent);
      socket.pause();
      if (chunk[0] === MAGIC) return onWire(socket, chunk);
      socket.unshift(chunk);
      for (const h of httpHandlers) h.call(server, socket);
      socket.resume();
    });
  });
}

/** How long a new connection may stay silent before its first byte. */
export const FIRST_BYTE_MS = 10_000;

function dropSilent(this: Socket): void {
  this.destroy();
}

/** A reset or broken pipe ends that connection; 'close' follows and frees it. */
function ignoreSocketError(): void {}
