import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import { buildProject } from '../../build/assemblyscript.ts';
import { buildComponentProject, isComponentProject } from '../../build/componentize.ts';
import { buildTsProject, isTsProject } from '../../build/build-ts.ts';

const command: Command = {
  name: 'build',
  summary: 'compile an AssemblyScript guest project into one .wasm bundle',
  help: `Usage: roam build [DIR] [-o FILE] [--debug]

Compiles DIR (default .) — roam.json (the manifest) + assembly/index.ts — with the AssemblyScript
compiler into one .wasm bundle with the manifest embedded in a custom section.
When roam.json's "entry" is a .ts/.js file exporting a handler (export default { fetch(request) }),
the bundle is a WebAssembly component built with componentize-js (world roam:function/function,
guest-sdk/wit/roam.wit); a .wat entry is assembled into a component with wasm-tools.
With "lang": "ts" the project is a TypeScript guest for the shared QuickJS engine (entry default
src/index.ts, SDK roam/guest): type-checked (TypeScript 7, when installed), refused constructs named,
a bundle of a few KB whose code runs on the engine the server caches.

Options:
  -o, --out FILE   where to write the bundle (default DIR/build/<name>.wasm)
  --debug          compile without optimisation (-O0)
  --no-check       TypeScript guests: skip the type check (signatures against roam/guest and roam.json)

Examples:
  roam build functions/kv
  roam build my-fn -o my-fn.wasm`,
  async run(argv) {
    const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' }, debug: { type: 'boolean' }, 'no-check': { type: 'boolean' } });
    if (positionals.length > 1) usage('build takes one project directory');
    if (isTsProject(positionals[0] ?? '.')) {
      const t = await buildTsProject(positionals[0] ?? '.', { ...(values.out ? { outFile: values.out } : {}), check: !values['no-check'] });
      process.stdout.write(`built ${t.outFile} (${t.bytes.length} bytes): ${t.manifest.name}@${t.manifest.version}, TypeScript on QuickJS, ${t.manifest.handlers.length} handler(s), ${t.manifest.functions.length} function(s) in ${Math.round(t.ms)} ms\n`);
      return 0;
    }
    if (isComponentProject(positionals[0] ?? '.')) {
      // entry is .ts/.js (componentize-js) or .wat (wasm-tools): the bundle is a component
      const c = await buildComponentProject(positionals[0] ?? '.', values.out ? { outFile: values.out } : {});
      process.stdout.write(`built ${c.outFile} (${c.bytes.length} bytes): component ${c.manifest.name}@${c.manifest.version}${c.cached ? ' (componentize cache hit)' : ` in ${Math.round(c.componentizeMs)} ms`}\n`);
      return 0;
    }
    const r = await buildProject(positionals[0] ?? '.', { ...(values.out ? { outFile: values.out } : {}), optimize: !values.debug });
    process.stdout.write(`built ${r.outFile} (${r.bytes.length} bytes): ${r.manifest.name}@${r.manifest.version}, ${r.manifest.handlers.length} handler(s), ${r.manifest.functions.length} function(s)\n`);
    return 0;
  },
};
export default command;
