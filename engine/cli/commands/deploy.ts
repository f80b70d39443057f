import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { RoamError } from '../../errors.ts';

const help = `Usage: roam deploy BUNDLE.wasm|PROJECT_DIR [--chains roam.chains.json] [--env NAME=VALUE]... [--server URL] [--token T] [--quiet]

Uploads a bundle to a running roam server (PUT /v1/bundles/NAME; NAME is the manifest's name).
A project directory (with roam.json) is built first. --chains also declares the chain routes in the
file. --env sets a component's declared environment variable (its manifest's "env"; repeatable): the
values replace those set before (PUT /v1/env/NAME) and are in force from the component's next worker.
The server and token come from --server/--token or ROAM_SERVER/ROAM_TOKEN.
On a terminal the build and upload show progress on stderr (-q/--quiet: none).

Examples:
  roam deploy functions/hello/build/hello.wasm --server http://127.0.0.1:8080 --token secret
  roam deploy functions/hello --chains functions/boutique/roam.chains.json
  roam deploy build/app.wasm --env GREETING=hello --env MODE=prod`;

export const command: Command = {
  name: 'deploy',
  summary: 'upload a bundle (and chain routes) to a running server',
  help,
  async run(argv) {
    const { values, positionals } = parse(argv, { server: { type: 'string' }, token: { type: 'string' }, chains: { type: 'string' }, env: { type: 'string', multiple: true }, quiet: { type: 'boolean', short: 'q' } });
    const p = (await import('../progress.ts')).progress({ quiet: values.quiet });
    const onProgress = (s: string) => p.step(s);
    const [target] = positionals;
    if (!target && !values.chains) throw new RoamError('E_USAGE', 'give a bundle .wasm or a project directory (see roam deploy --help)');
    const { clientFrom } = await import('../../http/client.ts');
    const client = clientFrom(values);
    if (target) {
      let bytes: Uint8Array;
      if (existsSync(target) && statSync(target).isDirectory() && existsSync(join(target, 'roam.json'))) {
        const { buildComponentProject, isComponentProject } = await import('../../build/componentize.ts');
        const { buildProject } = await import('../../build/assemblyscript.ts');
        const { buildTsProject, isTsProject } = await import('../../build/build-ts.ts');
        try {
          if (isTsProject(target)) p.step('building TypeScript for QuickJS');
          bytes = (await (isTsProject(target) ? buildTsProject(target) : isComponentProject(target) ? buildComponentProject(target, { onProgress }) : buildProject(target, { onProgress, cache: true }))).bytes;
        } catch (e) {
          p.fail();
          throw e;
        }
      } else {
        if (!existsSync(target)) throw new RoamError('E_USAGE', `no such file: ${target}`);
        bytes = readFileSync(target);
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
      if (values.env?.length) {
        const set = await client.control<{ env: string[] }>('PUT', `/v1/env/${encodeURIComponent(name)}`, JSON.stringify(envValues(values.env)));
        process.stdout.write(`environment of ${name}: ${set.env.join(', ')}\n`);
      }
    } else if (values.env?.length) throw new RoamError('E_USAGE', '--env needs a bundle to deploy');
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

/** `--env NAME=VALUE` flags as an object (the value may hold '='; the server checks names against the manifest). */
function envValues(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new RoamError('E_USAGE', `--env takes NAME=VALUE, not '${f}'`);
    out[f.slice(0, eq)] = f.slice(eq + 1);
  }
  return out;
}

/** `handlers: get, put (wire id 3) functions: greet`, naming only the kinds the bundle has. */
function entries(r: { functions: string[]; handlers?: string[]; wireId?: number }): string {
  const out: string[] = [];
  if (r.handlers?.length) out.push(`handlers: ${r.handlers.join(', ')} (wire id ${r.wireId})`);
  if (r.functions.length) out.push(`functions: ${r.functions.join(', ')}`);
  return out.join(' ');
}
