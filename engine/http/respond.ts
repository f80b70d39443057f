/** Writing answers: JSON bodies, errors as `{ error, message }` with their HTTP status, a function's response. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FnResponse } from '../runtime/http-abi.ts';
import { errorBody, httpStatus } from './errors.ts';
import type { Logger } from './log.ts';

const JSON_TYPE = { 'content-type': 'application/json' };
/** Headers a function may not set: the gateway frames the response itself. */
const HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...JSON_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers an error with its code's status; a server-side failure (5xx) is logged. */
export function sendError(res: ServerResponse, e: unknown, log: Logger): void {
  const body = errorBody(e);
  const status = httpStatus(body.error);
  if (status >= 500) log('error', 'request failed', body as unknown as Record<string, unknown>);
  if (status === 413) res.setHeader('connection', 'close');
  sendJson(res, status, body);
}

/** Writes a function's response (status, its own headers but the framing ones, body); returns the status sent. */
export function writeFnResponse(res: ServerResponse, fr: FnResponse): number {
  const status = fr.status >= 100 && fr.status <= 599 ? fr.status : 500;
  const out: Record<string, string> = {};
  for (const [n, v] of fr.headers) if (!HOP_BY_HOP.has(n.toLowerCase())) out[n] = v;
  out['content-length'] = String(fr.body.length);
  res.writeHead(status, out);
  res.end(fr.body);
  return status;
}

/** The request's headers a function sees: all but the token, the host and connection handling. */
export function forwardHeaders(req: IncomingMessage): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const n = req.rawHeaders[i]!.toLowerCase();
    if (n !== 'authorization' && n !== 'host' && n !== 'connection') headers.push([n, req.rawHeaders[i + 1]!]);
  }
  return headers;
}
