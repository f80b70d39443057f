import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import { Engine } from '../../runtime/engine.ts';
import { setLogFormat } from '../../observe/log.ts';
import { encodeRequest, decodeResponse } from '../../runtime/http-abi.ts';
import { decodeInput, formatReply, readInputFile } from './io.ts';

const command: Command = {
  name: 'run',
  summary: 'verify, meter and invoke a bundle\'s handler or function in-process',
  help: `Usage: roam run BUNDLE.wasm --handler NAME [--input VALUE]
       roam run BUNDLE.wasm --call NAME=VALUE [--call NAME=VALUE ...]
       roam run BUNDLE.wasm --function NAME [--method M] [--path P] [--header K:V ...] [--body VALUE]

Verifies the bundle (imports, exports, limits), instruments it with fuel metering, instantiates it
and invokes it in this process. Regions start zeroed and live for the whole run, so several --call
options see each other's writes. Prints each reply (text if printable, else hex).

Input VALUE forms: @file (raw bytes), hex:0a0b or 0x0a0b, u64:N[,text] (little-endian u64 then
text, as kv expects), JSON or plain text (sent as UTF-8).

Options:
  --handler NAME       handler (or function) to invoke once with --input
  --input VALUE        its input (default empty)
  --call NAME=VALUE    invoke NAME with VALUE; repeatable, runs in order
  --function NAME      invoke a function with an HTTP-like request built from:
  --method M --path P --header K:V --body VALUE
  --fuel N             fuel per message (default: the manifest's, capped by the engine)
  --hex                print replies as hex
  --stats              print fuel used per call on stderr

Examples:
  roam run functions/hello/build/hello.wasm --handler hello --input roam
  roam run kv.wasm --call put=u64:7,seven --call get=u64:7
  roam run hello.wasm --function greet --path /ann`,
  async run(argv) {
    setLogFormat(null, 'stderr'); // replies go to stdout: guest log lines to stderr
    const { values, positionals } = parse(argv, {
      handler: { type: 'string' }, input: { type: 'string' }, call: { type: 'string', multiple: true },
      function: { type: 'string' }, method: { type: 'string' }, path: { type: 'string' }, header: { type: 'string', multiple: true }, body: { type: 'string' },
      fuel: { type: 'string' }, hex: { type: 'boolean' }, stats: { type: 'boolean' },
    });
    if (positionals.length !== 1) usage('run takes one bundle file');
    const calls: Array<[string, Uint8Array, boolean]> = [];
    if (values.handler) calls.push([values.handler, decodeInput(values.input ?? ''), false]);
    for (const c of values.call ?? []) {
      const eq = c.indexOf('=');
      if (eq <= 0) usage(`--call wants NAME=VALUE, got '${c}'`);
      calls.push([c.slice(0, eq), decodeInput(c.slice(eq + 1)), false]);
    }
    if (values.function) {
      const headers = (values.header ?? []).map((h): [string, string] => {
        const i = h.indexOf(':');
        if (i <= 0) usage(`--header wants K:V, got '${h}'`);
        return [h.slice(0, i).trim(), h.slice(i + 1).trim()];
      });
      const req = encodeRequest({ method: values.method ?? 'GET', path: values.path ?? '/', headers, body: decodeInput(values.body ?? '') });
      calls.push([values.function, req, true]);
    }
    if (calls.length === 0) usage('nothing to invoke: give --handler, --call or --function');
    let maxFuel: number | undefined;
    if (values.fuel !== undefined) {
      maxFuel = Number(values.fuel);
      if (!Number.isInteger(maxFuel) || maxFuel <= 0) usage('--fuel wants a positive integer');
    }
    const engine = new Engine(maxFuel ? { limits: { maxFuel } } : {});
    const deployment = engine.deploy(readInputFile(positionals[0]!));
    for (const [name, input, isFunction] of calls) {
      const { reply, fuelUsed } = deployment.call(name, input);
      if (isFunction) {
        const res = decodeResponse(reply);
        process.stdout.write(`${res.status}\n${res.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${formatReply(res.body, values.hex ? 'hex' : 'auto')}\n`);
      } else {
        process.stdout.write(formatReply(reply, values.hex ? 'hex' : 'auto') + '\n');
      }
      if (values.stats) process.stderr.write(`${name}: ${fuelUsed} fuel\n`);
    }
    return 0;
  },
};
export default command;
