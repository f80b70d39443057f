// Runs one transpiled component in a worker thread. Plain JS (no TS loader inside workers).
// The parent is the watchdog: it terminates this thread when a call overruns its time limit.
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// `modules`: the component's core modules, compiled (with memory capped) once by the parent.
const { dir, entry, imports: importNames, modules, exportName, kind, maxBodyBytes, fuel } = workerData;
const log = (line) => parentPort.postMessage({ t: 'log', line: String(line) });
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
    else if (name === 'roam:function/regions') {
      // Regions live in the engine's RegionStore in the main thread; not reachable from a worker yet.
      const refuse = () => { throw new Error('regions are not available to component guests yet'); };
      out[name] = { read: refuse, write: refuse };
    } else if (name.startsWith('wasi:')) {
      shim ??= await import('@bytecodealliance/preview2-shim');
      const [pkg, iface] = name.slice(5).split('/');
      const impl = shim[pkg]?.[camel(iface)];
      if (!impl) throw new Error(`no host implementation for ${full}`);
      out[name] = impl;
    }
  }
  return out;
}

// Core instances of metered modules (engine/meter's exports); the budget is set before every call.
const metered = [];
const instantiateCore = async (module, imports) => {
  const instance = await WebAssembly.instantiate(module, imports);
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
  if (typeof handler?.handle !== 'function') throw new Error(`transpiled component has no '${exportName}' export`);
  parentPort.postMessage({ t: 'ready' });
} catch (e) {
  parentPort.postMessage({ t: 'failed', message: e?.message ?? String(e), code: e?.code });
}

parentPort.on('message', ({ id, req }) => {
  try {
    for (const m of metered) m.roam_set_fuel(fuel);
    const res = httpHost ? httpHost.serveIncoming(handler, req) : handler.handle(req);
    const body = res.body instanceof Uint8Array ? res.body : new Uint8Array(res.body);
    parentPort.postMessage({ t: 'reply', id, res: { status: res.status, headers: res.headers, body } }, [body.buffer]);
  } catch (e) {
    // A trap leaves the component instance unusable (the component model poisons it): the parent replaces this worker.
    parentPort.postMessage({ t: 'trap', id, message: e?.message ?? String(e), fuel: metered.some((m) => m.roam_fuel_left() < 0) });
  }
});
