import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import { RoamError } from '../../errors.ts';
import { TEMPLATES, TEMPLATES_DIR, type Template } from '../templates.ts';
import { suggestion } from '../did-you-mean.mjs';
import { version } from '../front.mjs';

const help = `Usage: roam init DIR [--template NAME] [--name NAME] [--roam SPEC]
       roam init --list [--json]

Creates DIR from a template: roam.json (the manifest, except mpi-c), the sources, a test, a README and
a package.json whose scripts are build, test and dev, with roam as a devDependency. Refuses a DIR
that exists and is not empty.

Options:
  -t, --template NAME  the template (default function); roam init --list shows them all
  --name NAME          the bundle/function name (default: DIR's name, lower-cased)
  --roam SPEC          the devDependency on roam written to package.json (default: this roam:
                       file:CHECKOUT for a git checkout, file:TARBALL when installed from a tarball,
                       else ^VERSION)
  --list               list the templates
  --json               with --list: as JSON

Examples:
  roam init my-fn && cd my-fn && npm install && npm test
  roam init ring --template mpi-c
  roam init api --template ts-function && roam dev api
  roam init counter --template ts-handler
  roam init --list`;

const command: Command = {
  name: 'init',
  summary: 'scaffold a guest project from a template (roam init --list)',
  help,
  async run(argv) {
    const { values, positionals } = parse(argv, { template: { type: 'string', short: 't' }, name: { type: 'string' }, roam: { type: 'string' }, list: { type: 'boolean' }, json: { type: 'boolean' } });
    if (values.list) {
      if (values.json) process.stdout.write(JSON.stringify(TEMPLATES.map(({ name, summary }) => ({ name, summary })), null, 2) + '\n');
      else process.stdout.write(`${'TEMPLATE'.padEnd(13)} DESCRIPTION\n${TEMPLATES.map((t) => `${t.name.padEnd(13)} ${t.summary}`).join('\n')}\n`);
      return 0;
    }
    if (positionals.length !== 1) usage('init takes one directory (or --list)');
    const tname = values.template ?? 'function';
    const template = TEMPLATES.find((t) => t.name === tname) ?? usage(`unknown template '${tname}'${suggestion(tname, TEMPLATES.map((t) => t.name))} (roam init --list shows them)`);
    const dir = resolve(positionals[0]!);
    if (existsSync(dir) && readdirSync(dir).length > 0) throw new RoamError('E_EXISTS', `${positionals[0]} exists and is not empty`);
    const name = values.name ?? basename(dir).toLowerCase().replace(/[^a-z0-9._-]/g, '-');
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) usage(`'${name}' is not a usable name: lower-case letters, digits, '.', '_' and '-' (give --name)`);
    const written = scaffold(template, dir, name, values.roam ?? roamDependency());
    process.stdout.write(`created ${positionals[0]} from template ${template.name}: ${written.join(', ')}\nnext: cd ${positionals[0]} && npm install && npm test\n`);
    return 0;
  },
};
export default command;

/** Copies the template's folder, replacing {{name}}; writes package.json. Returns the files written. */
function scaffold(t: Template, dir: string, name: string, roamSpec: string): string[] {
  const from = join(TEMPLATES_DIR, t.name);
  const files = readdirSync(from, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  const out: string[] = [];
  for (const f of files) {
    const src = join(f.parentPath ?? (f as unknown as { path: string }).path, f.name);
    const rel = relative(from, src).split(sep).map((p) => (p === '_gitignore' ? '.gitignore' : p)).join(sep);
    const dst = join(dir, rel);
    mkdirSync(dirname(dst), { recursive: true });
    let text = readFileSync(src, 'utf8').replaceAll('{{name}}', name);
    if (rel === 'roam.json') text = `${JSON.stringify({ ...JSON.parse(text), name }, null, 2)}\n`; // templates may name themselves
    writeFileSync(dst, text);
    out.push(rel);
  }
  // npm leaves .gitignore out of a package (hence _gitignore); a template without either still gets one
  if (!out.includes('.gitignore')) {
    writeFileSync(join(dir, '.gitignore'), 'build/\nnode_modules/\n');
    out.push('.gitignore');
  }
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      build: t.build.replaceAll('{{name}}', name),
      test: 'npm run build && node --test',
      ...(t.name === 'mpi-c' ? {} : { dev: 'roam dev .' }),
    },
    devDependencies: { roam: roamSpec },
    // npm 11 asks before running dependencies' install scripts: roam's own builds optional native addons
    // (POSIX shm for the DPU place, system MPI), esbuild's re-checks its binary, webgpu's is for macOS.
    allowScripts: { roam: false, esbuild: false, webgpu: false },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  return [...out, 'package.json'].sort();
}

/**
 * The devDependency on this roam: a git checkout links itself (file:ROOT); a copy installed from a
 * tarball (npm i ./roam-X.tgz, npx --package ./roam-X.tgz) points at that tarball, read from npm's
 * hidden lockfile beside it; anything else (the registry) is ^VERSION.
 */
function roamDependency(): string {
  const root = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
  if (existsSync(join(root, '.git'))) return `file:${root}`;
  const nodeModules = dirname(root);
  try {
    const lock = JSON.parse(readFileSync(join(nodeModules, '.package-lock.json'), 'utf8')) as { packages?: Record<string, { resolved?: string }> };
    const resolved = lock.packages?.['node_modules/roam']?.resolved;
    if (resolved?.startsWith('file:')) return `file:${resolve(dirname(nodeModules), resolved.slice(5))}`;
  } catch {
    // no lockfile: not installed by npm
  }
  return `^${version()}`;
}
