import { cachedBuild } from '../engine/places/cached-build.ts';

let kv: Promise<Uint8Array> | undefined;
/** The kv bundle, built once per test file. */
export function kvBundle(): Promise<Uint8Array> {
  kv ??= cachedBuild('functions/kv');
  return kv;
}

export const key = (k: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(k));
  return b;
};
export const putMsg = (k: number | bigint, v: string): Buffer => Buffer.concat([key(k), Buffer.from(v)]);
