import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import { progress } from '../progress.ts';

const command: Command = {
  name: 'build',
  summary: 'compile a guest project into one .wasm bundle',
  help: `Usage: roam build [DIR] [-o FILE] [--debug] [--force] [--no-check] [--quiet] [--json]

Compiles DIR (default .) — roam.json (the manifest) + assembly/index.ts — with the AssemblyScript
compiler into one .wasm bundle with the manifest embedded in a custom section.
When roam.json's "entry" is a .ts/.js file exporting a handler (export default { fetch(request) }),
the bundle is a WebAssembly component built with componentize-js (world roam:function/function,
guest-sdk/wit/roam.wit); a .wat entry is assembled into a component with wasm-tools.
A .wasm entry is another toolchain's output (a component or core module): nothing is compiled,
roam.json's manifest fields are embedded into a copy at build/<name>.wasm.
With "lang": "ts" the project is a TypeScript guest for the shared QuickJS engine (entry default
src/index.ts, SDK roam/guest): type-checked (TypeScript 7, when installed), refused constructs named,
a bundle of a few KB whose code runs on the engine the server caches.
Compile errors name file:line:col (relative to the current directory) and show the line.
An AssemblyScript project whose sources, SDK files, flags and compiler are unchanged since the last
build reuses that compile (DIR/build/.roam-compile.*); the manifest is embedded anew each time.

Options:
  -o, --out FILE   where to write the bundle (default DIR/build/<name>.wasm)
  --debug          compile without optimisation (-O0)
  --force          compile even when nothing changed
  --no-check       TypeScript guests: skip the type check (signatures against roam/guest and roam.json)
  -q, --quiet      no progress (progress shows only on a terminal anyway)
  --json           print the result as JSON (no progress)

Examples:
  roam build functions/kv
  roam build my-fn -o my-fn.wasm
  roam build . --json | jq .bytes
  roam build my-rust-fn        # roam.json: { "name": "app", "version": "1.0.0", "entry": "target/wasm32-wasip1/release/app.wasm" }`,
  async run(argv) {
    const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' }, debug: { type: 'boolean' }, force: { type: 'boolean' }, 'no-check': { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, json: { type: 'boolean' } });
    if (positionals.length > 1) usage('build takes one project directory');
    const dir = positionals[0] ?? '.';
    const p = progress({ quiet: values.quiet || values.json });
    const onProgress = (s: string) => p.step(s);
    const out = values.out ? { outFile: values.out } : {};
    // loaded here, not at the top: `roam build --help` needs none of it
    const { buildComponentProject, isComponentProject } = await import('../../build/componentize.ts');
    const { buildTsProject, isTsProject } = await import('../../build/build-ts.ts');
    const { buildProject } = await import('../../build/assemblyscript.ts');
    const { buildPrebuiltProject, isPrebuiltProject } = await import('../../build/prebuilt.ts');
    try {
      if (isTsProject(dir)) {
        p.step('building TypeScript for QuickJS (type check, bundle, test load)');
        const t = await buildTsProject(dir, { ...out, check: !values['no-check'] });
        p.done();
        if (values.json) print({ file: t.outFile, bytes: t.bytes.length, kind: 'ts', name: t.manifest.name, version: t.manifest.version, handlers: t.manifest.handlers.map((h) => h.name), functions: t.manifest.functions.map((f) => f.name), ms: Math.round(t.ms) });
        else process.stdout.write(`built ${t.outFile} (${t.bytes.length} bytes): ${t.manifest.name}@${t.manifest.version}, TypeScript on QuickJS, ${t.manifest.handlers.length} handler(s), ${t.manifest.functions.length} function(s) in ${Math.round(t.ms)} ms\n`);
        return 0;
      }
      if (isPrebuiltProject(dir)) {
        // entry is a .wasm another toolchain built: nothing to compile, roam.json's manifest embedded
        const b = await buildPrebuiltProject(dir, out);
        p.done();
        if (values.json) print({ file: b.outFile, bytes: b.bytes.length, kind: b.kind === 'component' ? 'component' : 'module', prebuilt: true, name: b.manifest.name, version: b.manifest.version, functions: b.manifest.functions.map((f) => f.name), handlers: b.manifest.handlers.map((h) => h.name) });
        else process.stdout.write(`built ${b.outFile} (${b.bytes.length} bytes): prebuilt ${b.kind} ${b.manifest.name}@${b.manifest.version}, manifest from roam.json embedded\n`);
        return 0;
      }
      if (isComponentProject(dir)) {
        // entry is .ts/.js (componentize-js) or .wat (wasm-tools): the bundle is a component
        const c = await buildComponentProject(dir, { ...out, onProgress });
        p.done();
        if (values.json) print({ file: c.outFile, bytes: c.bytes.length, kind: 'component', name: c.manifest.name, version: c.manifest.version, cached: c.cached, componentizeMs: Math.round(c.componentizeMs) });
        else process.stdout.write(`built ${c.outFile} (${c.bytes.length} bytes): component ${c.manifest.name}@${c.manifest.version}${c.cached ? ' (componentize cache hit)' : ` in ${Math.round(c.componentizeMs)} ms`}\n`);
        return 0;
      }
      const t0 = performance.now();
      const r = await buildProject(dir, { ...out, optimize: !values.debug, onProgress, cache: !values.force });
      p.done();
      const ms = Math.round(performance.now() - t0);
      if (values.json) print({ file: r.outFile, bytes: r.bytes.length, kind: 'module', name: r.manifest.name, version: r.manifest.version, handlers: r.manifest.handlers.map((h) => h.name), functions: r.manifest.functions.map((f) => f.name), ms, cached: r.cached });
      else process.stdout.write(`built ${r.outFile} (${r.bytes.length} bytes): ${r.manifest.name}@${r.manifest.version}, ${r.manifest.handlers.length} handler(s), ${r.manifest.functions.length} function(s)${r.cached ? ' (sources unchanged: compile reused)' : ''}\n`);
      return 0;
    } catch (e) {
      p.fail();
      throw e;
    }
  },
};

const print = (o: unknown) => process.stdout.write(JSON.stringify(o, null, 2) + '\n');
export default command;
