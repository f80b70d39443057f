/** Reading request bodies with a size cap (413 as soon as the cap is passed, not after buffering it all). */
import type { IncomingMessage } from 'node:http';
import { RoamError } from '../errors.ts';

export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(tooLarge(declared, max));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        reject(tooLarge(size, max));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

const tooLarge = (n: number, max: number) => new RoamError('E_TOO_LARGE', `request body of ${n} bytes is over the ${max}-byte limit`);
