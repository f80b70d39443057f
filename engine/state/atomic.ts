import { closeSync, fsyncSync, openSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { open, rename, unlink } from 'node:fs/promises';

/** Prefix of temporary files; anything carrying it after a crash is debris and may be removed. */
export const TMP_PREFIX = '.tmp-';

/**
 * Writes `data` to `file` so a crash at any point leaves either the old file or the new one, never a
 * mix: write a temp file beside it (parts in order), fsync it, rename over the target, fsync the directory.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string | Uint8Array[]): void {
  const dir = dirname(file);
  const tmp = `${dir}/${TMP_PREFIX}${randomBytes(6).toString('hex')}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    for (const part of Array.isArray(data) ? data : [data]) {
      const buf = typeof part === 'string' ? Buffer.from(part) : part;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A file written and flushed under a temporary name: `commit` renames it over its target (and syncs the
 *  directory), `abort` removes it. */
export interface StagedFile {
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * The first half of `writeFileAtomic`, off the event loop (libuv's thread pool), so a deploy's syncs
 * neither block other requests nor wait for the work the caller overlaps with them (metering,
 * compiling): writes `data` to a temp file beside `file` and flushes it with fdatasync (its size
 * included). Nothing names the temp file, so until `commit` a crash leaves only debris to sweep.
 */
export async function stageFile(file: string, data: Uint8Array[]): Promise<StagedFile> {
  const dir = dirname(file);
  const tmp = `${dir}/${TMP_PREFIX}${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writev(data);
    await fh.datasync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  return {
    async commit() {
      await rename(tmp, file);
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    },
    abort: () => unlink(tmp).catch(() => {}),
  };
}
