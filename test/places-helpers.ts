import { cachedBuild } from '../engine/build/cached-build.ts';

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

/** kv answers 503 "slot busy" while another writer holds the slot's seqlock: retry, as its contract says. */
export async function retrying<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i < 50 && (e as Error).message.includes('slot busy')) continue;
      throw e;
    }
  }
}
