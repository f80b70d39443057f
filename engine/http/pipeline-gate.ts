import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Backpressure for pipelined HTTP requests. Node's HTTP server parses every request of a read at once and
 * pauses the socket only between reads, so 400 pipelined `GET /fn/blob/1048576` from a client that never
 * reads ran 400 functions and buffered their 400 MiB of responses (+404 MB RSS). Here a connection runs at
 * most `limit` requests whose responses the kernel has not taken yet ('close' of a ServerResponse fires
 * once its last byte was written, or its connection died); the rest wait, in order, unstarted: an
 * IncomingMessage is small, and Node stops reading the socket while responses are outstanding.
 */
const kGate = Symbol('roam.pipelineGate');

interface Gate {
  active: number;
  queue: Array<IncomingMessage | ServerResponse>;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  limit: number;
}
type Gated = { [kGate]?: Gate };

export const DEFAULT_PIPELINE_LIMIT = 8;

export function pipelineGate(handler: (req: IncomingMessage, res: ServerResponse) => void, limit = DEFAULT_PIPELINE_LIMIT): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const socket = req.socket as IncomingMessage['socket'] & Gated;
    const g = (socket[kGate] ??= { active: 0, queue: [], handler, limit });
    if (g.active >= g.limit) g.queue.push(req, res);
    else start(g, req, res);
  };
}

function start(g: Gate, req: IncomingMessage, res: ServerResponse): void {
  g.active++;
  (res as ServerResponse & Gated)[kGate] = g;
  res.once('close', finished); // one shared function: no closure per request (engine/README.md)
  g.handler(req, res);
}

function finished(this: ServerResponse & Gated): void {
  const g = this[kGate]!;
  g.active--;
  if (this.socket?.destroyed ?? !this.writableFinished) {
    g.queue.length = 0; // the connection is gone: nothing queued behind it can be answered
    return;
  }
  if (g.queue.length === 0) return;
  const req = g.queue.shift() as IncomingMessage;
  const res = g.queue.shift() as ServerResponse;
  start(g, req, res);
}
