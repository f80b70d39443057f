import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import { contentHash, MANIFEST_SECTION, readBundle } from '../../bundle/bundle.ts';
import { funcType, sigString } from '../../bundle/wasm-module.ts';
import { readInputFile } from './io.ts';
import { isComponent, parseComponent } from '../../bundle/component-binary.ts';
import { verifyComponent } from '../../admission/verify-component.ts';
import { ENGINE_HASH, ENGINE_NAME, jsCodeOf } from '../../bundle/js-section.ts';

const command: Command = {
  name: 'inspect',
  summary: 'print a bundle\'s manifest, imports, exports, size and content hash',
  help: `Usage: roam inspect BUNDLE.wasm [--json]

Prints the embedded manifest, the module's imports and exports (with signatures), its size and
its content hash (sha256, the bundle's identity). Does not verify it: use roam run for that.

Options:
  --json   machine-readable output

Examples:
  roam inspect functions/kv/build/kv.wasm
  roam inspect kv.wasm --json | jq .manifest.handlers`,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
    if (positionals.length !== 1) usage('inspect takes one bundle file');
    const bytes = readInputFile(positionals[0]!);
    if (isComponent(bytes)) {
      // A component bundle: manifest from its component-level section, WIT-level imports and exports.
      const { imports, exports, customSections } = parseComponent(bytes);
      if (!customSections.has(MANIFEST_SECTION)) {
        // Another toolchain's output: what it imports and exports; roam deploy writes its manifest.
        const info = { file: positionals[0], kind: 'component', size: bytes.length, hash: contentHash(bytes), manifest: null, imports, exports };
        const text = [`bundle     ${info.file} (component, no roam manifest: roam deploy ${info.file} --name N writes one)`, `size       ${bytes.length} bytes`, `hash       sha256:${info.hash}`, '', 'imports', ...imports.map((i) => `  ${i}`), '', 'exports', ...exports.map((e) => `  ${e}`)].join('\n');
        process.stdout.write((values.json ? JSON.stringify(info, null, 2) : text) + '\n');
        return 0;
      }
      const c = verifyComponent(bytes);
      const info = { file: positionals[0], kind: 'component', size: bytes.length, hash: c.hash, manifest: c.manifest, imports, exports };
      const text = [`bundle     ${info.file} (component)`, `name       ${c.manifest.name}@${c.manifest.version} (tenant ${c.manifest.tenant})`, `size       ${bytes.length} bytes`, `hash       sha256:${c.hash}`, `caps       ${c.manifest.capabilities.join(', ') || '-'}`, '', 'imports', ...imports.map((i) => `  ${i}`), '', 'exports', ...exports.map((e) => `  ${e}`)].join('\n');
      process.stdout.write((values.json ? JSON.stringify(info, null, 2) : text) + '\n');
      return 0;
    }
    const b = readBundle(bytes);
    const sig = (i: number) => { const t = funcType(b.module, i); return t ? sigString(t) : ''; };
    let fi = 0;
    const imports = b.module.imports.map((i) => ({ module: i.module, name: i.name, kind: i.kind, ...(i.kind === 'function' ? { signature: sigString(b.module.types[i.typeIndex!]!) } : {}), _: i.kind === 'function' ? fi++ : 0 }));
    const exports = b.module.exports.map((e) => ({ name: e.name, kind: e.kind, ...(e.kind === 'function' ? { signature: sig(e.index) } : {}) }));
    const memory = b.module.memories[0];
    const jsc = jsCodeOf(bytes);
    const js = jsc ? { engine: jsc.engine, known: jsc.engine === ENGINE_HASH, format: jsc.format, codeBytes: Buffer.byteLength(jsc.code) } : undefined;
    const info = { file: positionals[0], size: bytes.length, hash: b.hash, manifest: b.manifest, imports: imports.map(({ _, ...rest }) => rest), exports, memory, ...(js ? { js } : {}) };
    if (values.json) {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return 0;
    }
    const m = b.manifest;
    const lines = [
      `bundle     ${info.file}`,
      `name       ${m.name}@${m.version} (tenant ${m.tenant})`,
      `size       ${bytes.length} bytes`,
      `hash       sha256:${b.hash}`,
      `limits     memory ${m.limits.memoryPages} pages (${m.limits.memoryPages * 64} KiB), fuel ${m.limits.fuel}/message`,
      ...(js
        ? [`engine     sha256:${js.engine} (${js.known ? ENGINE_NAME : 'not the engine of this roam'})`, `code       ${js.codeBytes} bytes of JavaScript (${js.format}); memory limit = JS heap`]
        : [`memory     min ${memory?.min ?? 0} pages, max ${memory?.max ?? 'none (engine sets the limit)'}`]),
      `caps       ${['core', ...m.capabilities].join(', ')}`,
      '',
      'handlers   type  export            regions',
      ...m.handlers.map((h) => `  ${h.name.padEnd(9)}${String(h.type).padStart(4)}  ${h.export.padEnd(18)}${h.regions.join(', ') || '-'}`),
      ...(m.functions.length ? ['', 'functions  export', ...m.functions.map((f) => `  ${f.name.padEnd(9)}${f.export}`)] : []),
      ...(m.regions.length ? ['', 'regions    size        access', ...m.regions.map((r) => `  ${r.name.padEnd(9)}${String(r.size).padEnd(12)}${r.access}`)] : []),
      '', 'imports', ...imports.map((i) => `  ${i.module}.${i.name}  ${i.signature ?? i.kind}`),
      '', 'exports', ...exports.map((e) => `  ${e.name}  ${e.signature ?? e.kind}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
export default command;
