// The AssemblyScript compiler's thread. Plain JS on purpose: the CLI registers tsx in its main thread,
// and through tsx's loader hooks `import('assemblyscript/asc')` took 7 s on a quiet machine and ~60 s
// at load (0.5 s here). Loader hooks registered in a parent do not reach worker threads in Node 20.
// One worker compiles many jobs (roam dev keeps it): the compiler loads once.
import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
/** This module runs only as a worker thread, where parentPort is set. */
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const { default: asc } = await import('assemblyscript/asc');

/** asc's DiagnosticCategory: 2 warning, 3 error. */
const CATEGORY = { 0: 'pragma', 1: 'info', 2: 'warning', 3: 'error' };

/** Line (1-based), column (1-based) and the line's text at a source offset. */
function position(text, offset) {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; start = i + 1; }
  const end = text.indexOf('\n', start);
  return { line, column: offset - start + 1, lineText: text.slice(start, end < 0 ? text.length : end) };
}

/**
 * job: { id, projectDir, sdkDir, args, virtual: { NAME: SOURCE } }. `import … from "roam"` reaches asc as
 * node_modules/roam/…, served from sdkDir; virtual files (the ABI entry) are served from memory.
 * Replies { id, ok, outputs, diagnostics, error, files }: `files` lists what was read (roam dev watches them).
 */
async function compile(job) {
  const outputs = {};
  const diagnostics = [];
  const files = [];
  const probes = []; // paths tried and not found (a file created there later changes the build)
  const texts = new Map(); // absolute path → text, for code frames
  const path = (name, baseDir) => {
    const m = /node_modules\/roam\/(.*)$/.exec(name);
    return m ? join(job.sdkDir, m[1]) : isAbsolute(name) ? name : join(job.projectDir, baseDir, name);
  };
  // ~lib/roam/… is the SDK (a package import); other ~lib/ paths are asc's standard library.
  const sourceFile = (p) => (p.startsWith('~lib/roam/') ? join(job.sdkDir, p.slice(10)) : p.startsWith('~lib/') ? p : path(p, ''));
  const { error } = await asc.main(job.args, {
    readFile(name, baseDir) {
      if (Object.hasOwn(job.virtual, name)) return job.virtual[name];
      const p = path(name, baseDir);
      try {
        const text = readFileSync(p, 'utf8');
        files.push(p);
        texts.set(p, text);
        return text;
      } catch {
        probes.push(p);
        return null;
      }
    },
    writeFile(name, data) {
      outputs[name] = data;
    },
    listFiles: () => [],
    reportDiagnostic(d) {
      const r = d.range;
      const file = r?.source ? sourceFile(r.source.normalizedPath) : null;
      const text = file === null ? null : texts.get(file) ?? asc.libraryFiles[file.replace(/^~lib\//, '').replace(/\.ts$/, '')] ?? null;
      const at = text === null || !r ? null : position(text, r.start);
      diagnostics.push({
        category: CATEGORY[d.category] ?? 'error',
        code: d.code,
        message: d.message,
        ...(file === null ? {} : { file }),
        ...(at && r ? { ...at, length: Math.max(1, Math.min(r.end - r.start, at.lineText.length - at.column + 1)) } : {}),
      });
    },
    stdout: { write: () => true },
    stderr: { write: () => true },
  });
  return { id: job.id, ok: !error, outputs, diagnostics, error: error ? String(error.message ?? error) : null, files, probes, version: asc.version };
}

port.on('message', (job) => {
  compile(job).then(
    (r) => port.postMessage(r),
    (e) => port.postMessage({ id: job.id, ok: false, outputs: {}, diagnostics: [], error: String(e?.stack ?? e), files: [], probes: [], version: asc.version }),
  );
});
port.postMessage({ ready: true });
