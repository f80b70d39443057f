// Admission of one fuzzed bundle per message, in a worker so that a hang is a timeout, not a stuck fuzzer.
// Plain JS: registers tsx to load the engine (as engine/components/component-worker.mjs does).
import { parentPort } from 'node:worker_threads';
/** This module runs only as a worker thread, where parentPort is set. */
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const { register } = await import('tsx/esm/api');
register();
const { Engine } = await import('../engine/runtime/engine.ts');
const { isComponent, verifyComponent } = await import('../engine/components/index.ts');
const { isRoamError } = await import('../engine/errors.ts');
(await import('../engine/capabilities/log.ts')).setLogSink(() => {}); // guests' log lines are not the report's

port.on('message', (bytes) => {
  let out;
  try {
    if (isComponent(bytes)) {
      verifyComponent(bytes);
      out = { stage: 'verified' };
    } else {
      // verify → meter → compile, then one call of the first entry: a mutated body must fail by name too.
      const d = new Engine().deploy(bytes);
      const entry = d.manifest.handlers[0]?.name ?? d.manifest.functions[0]?.name;
      out = { stage: 'deployed' };
      if (entry) {
        try {
          d.call(entry, new Uint8Array(16));
          out.stage = 'called';
        } catch (e) {
          if (!isRoamError(e)) out = { unexpected: `call '${entry}': ${e?.name}: ${e?.message}` };
        }
      }
    }
  } catch (e) {
    out = isRoamError(e) ? { code: e.code } : { unexpected: `${e?.name}: ${e?.message}` };
  }
  port.postMessage(out);
});
port.postMessage({ ready: true });
