import { closeSync, fsyncSync, openSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

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
