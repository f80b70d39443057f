import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The last successful compile of a project, kept in its build/ folder: the compiler's arguments and
 * version, every file it read with its content hash, every path it tried that did not exist, and the
 * module it produced (before the manifest is embedded, which is redone every build). A build whose inputs
 * all hash the same reuses the module: `roam deploy` and `roam build` of an unchanged project skip asc.
 */
interface Entry {
  key: string;
  files: Record<string, string>;
  probes: string[];
}

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const file = (projectDir: string) => join(projectDir, 'build', '.roam-compile.json');
const wasmFile = (projectDir: string) => join(projectDir, 'build', '.roam-compile.wasm');

/**
 * The cache key of everything but the sources' contents: arguments, the compiler's version, the SDK's
 * place and the project's own (a copy of a project with its build/ folder must not reuse the original's
 * compile: the recorded sources are the original's).
 */
export const compileKey = (args: string[], version: string, sdkDir: string, projectDir: string): string => sha(JSON.stringify([args, version, sdkDir, projectDir]));

/** The cached module when the key and every input still match, else null. */
export function cachedCompile(projectDir: string, key: string): Uint8Array | null {
  try {
    const e = JSON.parse(readFileSync(file(projectDir), 'utf8')) as Entry;
    if (e.key !== key) return null;
    for (const [path, hash] of Object.entries(e.files)) if (!existsSync(path) || sha(readFileSync(path)) !== hash) return null;
    if (e.probes.some((p) => existsSync(p))) return null;
    return new Uint8Array(readFileSync(wasmFile(projectDir)));
  } catch {
    return null; // no cache, or one we cannot read: compile
  }
}

/** Records a successful compile (written to temporary names, then renamed: a reader never sees half). */
export function storeCompile(projectDir: string, key: string, files: string[], probes: string[], wasm: Uint8Array): void {
  const hashes = Object.fromEntries([...new Set(files)].map((f) => [f, sha(readFileSync(f))]));
  const entry: Entry = { key, files: hashes, probes: [...new Set(probes)] };
  mkdirSync(dirname(file(projectDir)), { recursive: true });
  writeFileSync(`${wasmFile(projectDir)}.tmp`, wasm);
  renameSync(`${wasmFile(projectDir)}.tmp`, wasmFile(projectDir));
  writeFileSync(`${file(projectDir)}.tmp`, JSON.stringify(entry));
  renameSync(`${file(projectDir)}.tmp`, file(projectDir));
}
