import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import { RoamError } from '../../errors.ts';
import { validateManifest } from '../../bundle/manifest.ts';

const INDEX = `import { input, replyString, request, respond, Response, log } from "roam";

/** Message handler: bytes in, bytes out. Returns the reply length (or fail(code, msg)). */
export function echo(len: i32): i32 {
  const text = String.UTF8.decode(input(len).buffer);
  return replyString("echo: " + text);
}

/** Function: an HTTP-like request in, a response out. */
export function hello(len: i32): i32 {
  const req = request(len);
  log(req.method + " " + req.path);
  return respond(Response.json(200, '{"hello":"' + req.path + '"}'));
}
`;

const command: Command = {
  name: 'init',
  summary: 'scaffold an AssemblyScript guest project (a handler and a function)',
  help: `Usage: roam init DIR [--name NAME]

Creates DIR with roam.json (the manifest), assembly/index.ts (a message handler 'echo' and a
function 'hello'), package.json and a README. Refuses a DIR that exists and is not empty.

Examples:
  roam init my-fn && roam build my-fn && roam run my-fn/build/my-fn.wasm --handler echo --input hi`,
  async run(argv) {
    const { values, positionals } = parse(argv, { name: { type: 'string' } });
    if (positionals.length !== 1) usage('init takes one directory');
    const dir = resolve(positionals[0]!);
    if (existsSync(dir) && readdirSync(dir).length > 0) throw new RoamError('E_EXISTS', `${positionals[0]} exists and is not empty`);
    const name = values.name ?? basename(dir).toLowerCase().replace(/[^a-z0-9._-]/g, '-');
    const manifest = {
      name, version: '0.1.0', capabilities: ['log'],
      handlers: [{ name: 'echo', type: 1 }], functions: [{ name: 'hello' }],
      limits: { memoryPages: 16, fuel: 1000000 },
    };
    validateManifest(manifest);
    mkdirSync(join(dir, 'assembly'), { recursive: true });
    writeFileSync(join(dir, 'roam.json'), JSON.stringify(manifest, null, 2) + '\n');
    writeFileSync(join(dir, 'assembly', 'index.ts'), INDEX);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '0.1.0', private: true, scripts: { build: 'roam build .', test: `roam run build/${name}.wasm --handler echo --input test` } }, null, 2) + '\n');
    writeFileSync(join(dir, '.gitignore'), 'build/\n');
    writeFileSync(join(dir, 'README.md'), `# ${name}\n\nA roam guest. \`roam build .\` compiles it to build/${name}.wasm;\n\`roam run build/${name}.wasm --handler echo --input hi\` invokes the handler;\n\`roam run build/${name}.wasm --function hello --path /x\` the function.\n\nroam.json is the manifest: handlers (with message type ids), functions, regions, capabilities, limits.\nThe guest SDK (\`import ... from "roam"\`) is documented in roam's guest-sdk/README.md.\n`);
    process.stdout.write(`created ${positionals[0]}: roam.json, assembly/index.ts, package.json, README.md\nnext: roam build ${positionals[0]}\n`);
    return 0;
  },
};
export default command;
