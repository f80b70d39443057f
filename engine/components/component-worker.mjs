// Runs one transpiled component in a worker thread. Plain JS (no TS loader inside workers).
// The parent is the watchdog: it terminates this thread when a call overruns its time limit.
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
/** This module runs only as a worker thread, where parentPort is set. */
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
// `modules`: the component's core modules, compiled (with memory capped) once by the parent.
// `regions` (world message): the declared regions' decls and SharedArrayBuffers, in manifest order.
const { dir, entry, imports: importNames, modules, exportName, kind, maxBodyBytes, fuel, bundle, regions = [], env = {} } = workerData;
/** A guest log line: roam's `log` interface (info), a wasi:http guest's stdout (info) or stderr (warn). */
const log = (line, level = 'info') => port.postMessage({ t: 'log', line: String(line), level });
// A wasi:http component gets roam's in-memory HTTP host (streams, pollables and the clocks and stdio that
// hand them out); WASI without resources of its own (wall clock, random) still comes from preview2-shim.
const httpHost = kind === 'wasi-http' ? (await import('./wasi-http-host.mjs')) : null;
const ownHost = httpHost?.wasiHttpHost({ log, maxBodyBytes }) ?? {};

const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
const unversioned = (n) => n.replace(/@[^/]*$/, '');

/** Only the interfaces the component imports (already checked against its manifest at deploy). */
async function hostImports() {
  const out = {};
  let shim;
  for (const full of importNames) {
    const name = unversioned(full);
    if (ownHost[name]) out[name] = ownHost[name];
    else if (name === 'roam:function/log') out[name] = { log };
    else if (name === 'roam:function/types') continue;
    else if (name === 'roam:function/regions') out[name] = await regionsHost(); else if (name.startsWith('wasi:')) {
      shim ??= confined(await import('@bytecodealliance/preview2-shim'));
      const [pkg, iface] = name.slice(5).split('/');
      const impl = shim[pkg]?.[camel(iface)];
      if (!impl) throw new Error(`no host implementation for ${full}`);
      out[name] = impl;
    }
  }
  return out;
}

/**
 * preview2-shim hands a guest the host process's own state by default: the whole environment (the
 * server's, ROAM_TOKEN included), its argv (a --token flag included) and its working directory. A guest
 * gets only what roam decides: the declared variables the operator set (component-function.ts guestEnv),
 * its own name as argv, no cwd, and no preopened directory. (stdin is this worker's, which is empty;
 * stdout and stderr are this worker's, which the parent reads as log lines.)
 */
function confined(shim) {
  shim.cli._setEnv(env);
  shim.cli._setArgs([bundle]);
  shim.cli._setCwd(undefined);
  shim.filesystem._clearPreopens();
  return shim;
}

// The message being handled: which of the manifest's regions its handler declared (set before every call).
const current = { allowed: new Uint8Array(regions.length) };

/**
 * roam:function/regions over the SharedArrayBuffers the engine handed over. The access check is core
 * bundles' own (engine/capabilities/regions.ts `region()`: declared by the handler, access mode, bounds),
 * loaded through tsx since it is TypeScript; region names map to manifest indices here.
 */
async function regionsHost() {
  const { register } = await import('tsx/esm/api');
  register();
  const { region } = await import('../capabilities/regions.ts');
  const { bindRegion } = await import('../regions/region-store.ts');
  const { RoamError } = await import('../errors.ts');
  const bound = regions.map(({ decl, buffer }) => bindRegion(decl, buffer));
  const index = new Map(regions.map(({ decl }, i) => [decl.name, i]));
  // The part of a GuestContext that region() reads (a component has no linear memory of roam's to lend).
  const ctx = /** @type {import('../capabilities/capability.ts').GuestContext} */ (/** @type {unknown} */ ({ manifest: { name: bundle }, regions: bound, get allowed() { return current.allowed; } }));
  const resolve = (name, offset, len, mode) => {
    const id = index.get(name);
    if (id === undefined) throw new RoamError('E_REGION', `region '${name}' is not declared by bundle '${bundle}'`);
    return region(ctx, id, offset >>> 0, len >>> 0, mode);
  };
  return {
    read(name, offset, len) {
      offset >>>= 0; len >>>= 0;
      // A copy: the guest gets its own bytes, lowered into its memory by the glue.
      return resolve(name, offset, len, 'r').u8.slice(offset, offset + len);
    },
    write(name, offset, data) {
      offset >>>= 0;
      resolve(name, offset, data.length, 'w').u8.set(data, offset);
    },
  };
}

// Core instances of metered modules (engine/meter's exports); the budget is set before every call.
const metered = [];
const instantiateCore = async (module, imports) => {
  const instance = await WebAssembly.instantiate(/** @type {WebAssembly.Module} */ (module), imports);
  if (typeof instance.exports.roam_set_fuel === 'function') metered.push(instance.exports);
  return instance;
};

let handler;
try {
  const { instantiate } = await import(pathToFileURL(join(dir, entry)).href);
  const getCoreModule = (file) => {
    if (!modules[file]) throw new Error(`transpiled component asks for unknown core module ${file}`);
    return modules[file];
  };
  const exports = await instantiate(getCoreModule, await hostImports(), instantiateCore);
  handler = exports[exportName] ?? exports[unversioned(exportName)];
  if (typeof (kind === 'roam-message' ? handler?.handleMessage : handler?.handle) !== 'function') throw new Error(`transpiled component has no '${exportName}' export`);
  port.postMessage({ t: 'ready' });
} catch (e) {
  port.postMessage({ t: 'failed', message: e?.message ?? String(e), code: e?.code });
}

port.on('message', ({ id, req }) => {
  try {
    for (const m of metered) m.roam_set_fuel(fuel); // also clears each module's grow-refused flag
    httpHost?.takeOutput(); // the stdout/stderr tail is this call's
    if (kind === 'roam-message') {
      current.allowed = req.allowed;
      const out = handler.handleMessage(req.type, req.payload);
      // Transfer only a buffer of its own (never a view into guest memory); copy otherwise.
      const reply = out instanceof Uint8Array && out.byteOffset === 0 && out.byteLength === out.buffer.byteLength && !(out.buffer instanceof SharedArrayBuffer) ? out : new Uint8Array(out);
      // Fuel used by this message, summed over the metered core modules (0 under the watchdog alone).
      let fuelUsed = 0;
      for (const m of metered) fuelUsed += fuel - m.roam_fuel_left();
      port.postMessage({ t: 'reply', id, reply, fuelUsed }, [reply.buffer]);
      return;
    }
    let res;
    try {
      res = httpHost ? httpHost.serveIncoming(handler, req) : handler.handle(req);
    } finally {
      httpHost?.flushLines();
    }
    const body = res.body instanceof Uint8Array ? res.body : new Uint8Array(res.body);
    port.postMessage({ t: 'reply', id, res: { status: res.status, headers: res.headers, body } }, [body.buffer]);
  } catch (e) {
    // A trap leaves the component instance unusable (the component model poisons it): the parent replaces this worker.
    // A host function's refusal (E_REGION) is a trap to the component model too, but keeps its code and message.
    const code = typeof e?.code === 'string' && e.code.startsWith('E_') ? e.code : undefined;
    // `memory`: a memory.grow was refused at the cap during this call (the trap that follows is its consequence:
    // .NET and most allocators trap with `unreachable`). `output`: the tail of what the guest wrote (a panic message).
    port.postMessage({ t: 'trap', id, code, message: e?.message ?? String(e), fuel: metered.some((m) => m.roam_fuel_left() < 0), memory: metered.some((m) => m.roam_grow_failed?.() === 1), output: httpHost?.takeOutput() ?? '' });
  }
});
