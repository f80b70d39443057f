import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Where componentized and transpiled outputs are cached by content hash (git-ignored). */
export function cacheDir(...sub: string[]): string {
  const root = process.env.ROAM_CACHE_DIR ?? fileURLToPath(new URL('../../.roam-cache/', import.meta.url));
  return join(root, ...sub);
}
