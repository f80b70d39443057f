import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import { progress } from '../progress.ts';
import { RoamError } from '../../errors.ts';
import { setLogFormat } from '../../observe/log.ts';

const help = `Usage: roam dev [DIR] [--port P] [--host H] [--quiet]

The author's loop (like spin watch or wrangler dev): serves roam on a port (no auth, this machine
only by default), builds DIR (default .), deploys it through the control API and, on every save,
rebuilds and redeploys. Each result is one line; a compile error shows file:line:col and the line,
and the last good version keeps serving. Guest log lines ([NAME] info: …) print as requests arrive.
Functions answer on http://HOST:PORT/fn/NAME/…, message handlers over the binary protocol on the same
port (roam/client); Ctrl-C stops.

Options:
  --port P     port (default 8787; 0 = any free port, printed on start)
  --host H     address to bind (default 127.0.0.1)
  -q, --quiet  no progress spinner (results and logs still print)

Examples:
  roam init hello && roam dev hello
  roam dev functions/hello --port 9000 & curl http://127.0.0.1:9000/fn/greet/ada`;

export const command: Command = {
  name: 'dev',
  summary: 'serve a project and rebuild + redeploy it on every save',
  help,
  async run(argv) {
    const { values, positionals } = parse(argv, { port: { type: 'string', default: '8787' }, host: { type: 'string', default: '127.0.0.1' }, quiet: { type: 'boolean', short: 'q' } });
    if (positionals.length > 1) usage('dev takes one project directory');
    const dir = positionals[0] ?? '.';
    if (!existsSync(join(dir, 'roam.json'))) throw new RoamError('E_USAGE', `no roam.json in ${dir} (create a project with roam init)`);
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`--port must be 0–65535, got '${values.port}'`);
    // An author's terminal tool: human lines even in a pipe, guest logs included (ROAM_LOG_FORMAT overrides).
    if (!process.env.ROAM_LOG_FORMAT) setLogFormat('human');
    const say = (line: string) => process.stdout.write(`roam dev: ${line}\n`);
    const { serve } = await import('../../server/serve.ts');
    const { WIRE_SERVE_FLAGS, wireServeOptions } = await import('../../server/wire-options.ts');
    const wireDefaults = Object.fromEntries(Object.entries(WIRE_SERVE_FLAGS).flatMap(([k, f]) => ('default' in f ? [[k, f.default]] : [])));
    const server = await serve({ port, host: values.host!, token: null, wire: wireServeOptions(wireDefaults as unknown as Parameters<typeof wireServeOptions>[0]), log: say });
    say(`serving on ${server.url}`);
    const { DevSession } = await import('../dev.ts');
    const session = new DevSession(dir, { server: server.url, progress: progress({ quiet: values.quiet }), out: say, err: (t) => process.stderr.write(t) });
    session.watch(); // before the first build: a save during it queues another
    say(`watching ${dir} (Ctrl-C to stop)`);
    await session.kick();
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await session.close();
    await server.close();
    return 0;
  },
};
export default command;
