import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { RoamError } from '../../errors.ts';
import type { PrebuiltFields } from '../../build/prebuilt.ts';

const help = `Usage: roam deploy BUNDLE.wasm|PROJECT_DIR [--chains roam.chains.json] [--server URL] [--token T] [--quiet]
       roam deploy APP.wasm [--name N] [--allow CAP]... [--memory-mib M] [--fuel F] [--export E] [--version V]

Uploads a bundle to a running roam server (PUT /v1/bundles/NAME; NAME is the manifest's name).
A project directory (with roam.json) is built first; a roam.json whose "entry" is a .wasm deploys that
file with roam.json's manifest fields. --chains also declares the chain routes in the file. The server
and token come from --server/--token or ROAM_SERVER/ROAM_TOKEN. On a terminal the build and upload
show progress on stderr.

A .wasm built by another toolchain (cargo-component, TinyGo, componentize-dotnet, clang, …) deploys as
it is: a wasi:http 0.2 or roam-world component, or a core module. Without a roam.manifest section roam
writes one from the flags below (they also override the fields of a manifest the file has).
wasi:filesystem needs no flag: a component gets it with no directories. A core module carrying a WIT
world (wit-bindgen output before 'wasm-tools component new') is made a component with the WASI
preview 1 adapter first.

Options:
  --chains FILE     declare the chain routes of a roam.chains.json
  --server URL      the server (default: ROAM_SERVER)
  --token T         its token (default: ROAM_TOKEN)
  -q, --quiet       no progress
  --name N          a .wasm's function and bundle name (default: the manifest's, else the file's base name)
  --allow CAP       grant a capability; repeat for more: wasi:sockets, wasi:http (outgoing), log, …
  --memory-mib M    linear memory cap (default without a manifest: 16 MiB)
  --fuel F          fuel per call (default for a component without a manifest: 1e9, the engine's cap)
  --export E        a core module's function export to serve (default: the name)
  --version V       the manifest's version (default 0.0.0)

Examples:
  roam deploy functions/hello/build/hello.wasm --server http://127.0.0.1:8080 --token secret
  roam deploy functions/hello --chains functions/boutique/roam.chains.json
  roam deploy target/wasm32-wasip1/release/app.wasm --name app --memory-mib 64
  roam deploy hello-dotnet.wasm --name hello --memory-mib 128 --allow wasi:sockets`;

export const command: Command = {
  name: 'deploy',
  summary: 'upload a bundle (and chain routes) to a running server',
  help,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      server: { type: 'string' }, token: { type: 'string' }, chains: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
      name: { type: 'string' }, allow: { type: 'string', multiple: true }, 'memory-mib': { type: 'string' }, fuel: { type: 'string' }, export: { type: 'string' }, version: { type: 'string' },
    });
    const p = (await import('../progress.ts')).progress({ quiet: values.quiet });
    const onProgress = (s: string) => p.step(s);
    const [target] = positionals;
    if (!target && !values.chains) throw new RoamError('E_USAGE', 'give a bundle .wasm or a project directory (see roam deploy --help)');
    const { clientFrom } = await import('../../http/client.ts');
    const client = clientFrom(values);
    if (target) {
      let bytes: Uint8Array;
      const fields = prebuiltFields(values);
      const isProject = existsSync(target) && statSync(target).isDirectory() && existsSync(join(target, 'roam.json'));
      if (isProject && Object.values(fields).some((v) => v !== undefined)) throw new RoamError('E_USAGE', '--name, --allow, --memory-mib, --fuel, --export and --version are for a .wasm file; a project takes them from its roam.json');
      if (isProject) {
        const { buildComponentProject, isComponentProject } = await import('../../build/componentize.ts');
        const { buildProject } = await import('../../build/assemblyscript.ts');
        const { buildTsProject, isTsProject } = await import('../../build/build-ts.ts');
        const { buildPrebuiltProject, isPrebuiltProject } = await import('../../build/prebuilt.ts');
        try {
          if (isTsProject(target)) p.step('building TypeScript for QuickJS');
          bytes = (await (isTsProject(target) ? buildTsProject(target) : isPrebuiltProject(target) ? buildPrebuiltProject(target) : isComponentProject(target) ? buildComponentProject(target, { onProgress }) : buildProject(target, { onProgress, cache: true }))).bytes;
        } catch (e) {
          p.fail();
          throw e;
        }
      } else {
        if (!existsSync(target)) throw new RoamError('E_USAGE', `no such file: ${target}`);
        if (statSync(target).isDirectory()) throw new RoamError('E_USAGE', `${target} is a directory without roam.json: give a .wasm file or a project directory`);
        const { withManifest } = await import('../../build/prebuilt.ts');
        const r = await withManifest(readFileSync(target), target, fields);
        if (r.wrapped) p.step('made a component of the core module (WASI preview 1 adapter)');
        bytes = r.bytes;
      }
      const { readBundle } = await import('../../bundle/bundle.ts');
      const { isComponent, verifyComponent } = await import('../../components/index.ts');
      const name = (isComponent(bytes) ? verifyComponent(bytes) : readBundle(bytes)).manifest.name;
      p.step(`uploading ${name} (${bytes.length} bytes)`);
      const t0 = performance.now();
      const r = await client.control<{ name: string; version: string; tenant: string; hash: string; functions: string[]; handlers?: string[]; wireId?: number; timeLimit?: { mode: string; reason?: string } }>('PUT', `/v1/bundles/${encodeURIComponent(name)}`, bytes).catch((e) => {
        p.fail();
        throw e;
      });
      p.done();
      // components: say how their calls are bounded (fuel, or the watchdog and why)
      const limit = r.timeLimit ? `; component time limit: ${r.timeLimit.mode}${r.timeLimit.reason ? ` (${r.timeLimit.reason})` : ''}` : '';
      process.stdout.write(`deployed ${r.name}@${r.version} (tenant ${r.tenant}, ${r.hash.slice(0, 12)}) ${entries(r)} in ${(performance.now() - t0).toFixed(1)} ms${limit}\n`);
    }
    if (values.chains) {
      const { readChainsFile } = await import('../../chains/chains-file.ts');
      for (const [route, spec] of Object.entries(readChainsFile(values.chains))) {
        await client.control('PUT', `/v1/chains/${encodeURIComponent(route)}`, JSON.stringify(spec));
        process.stdout.write(`chain ${route}: ${spec.steps.join(' → ')}\n`);
      }
    }
    return 0;
  },
};
export default command;

/** The manifest fields a .wasm deploy takes from flags (undefined when not given). */
function prebuiltFields(v: { name?: string; allow?: string[]; 'memory-mib'?: string; fuel?: string; export?: string; version?: string }): PrebuiltFields {
  const num = (flag: string, s: string | undefined, integer: boolean): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new RoamError('E_USAGE', `--${flag} takes a positive ${integer ? 'integer' : 'number'}, not '${s}'`);
    return n;
  };
  return { name: v.name, allow: v.allow, memoryMiB: num('memory-mib', v['memory-mib'], false), fuel: num('fuel', v.fuel, true), export: v.export, version: v.version };
}

/** `handlers: get, put (wire id 3) functions: greet`, naming only the kinds the bundle has. */
function entries(r: { functions: string[]; handlers?: string[]; wireId?: number }): string {
  const out: string[] = [];
  if (r.handlers?.length) out.push(`handlers: ${r.handlers.join(', ')} (wire id ${r.wireId})`);
  if (r.functions.length) out.push(`functions: ${r.functions.join(', ')}`);
  return out.join(' ');
}
