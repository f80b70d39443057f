import { buildProject } from '../engine/build/assemblyscript.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let kv: Promise<Uint8Array> | undefined;
/** The kv bundle, built once per test file. */
export function kvBundle(): Promise<Uint8Array> {
  kv ??= buildProject('functions/kv', { outFile: join(tmpdir(), `roam-kv-${process.pid}.wasm`) }).then((r) => r.bytes);
  return kv;
}

export const key = (k: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(k));
  return b;
};
export const putMsg = (k: number | bigint, v: string): Buffer => Buffer.concat([key(k), Buffer.from(v)]);
