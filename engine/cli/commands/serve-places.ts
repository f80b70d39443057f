import { readFileSync } from 'node:fs';
import { parse } from '../args.ts';
import { RoamError } from '../../errors.ts';
import type { Command } from '../command.ts';

// The binary-protocol side of `roam serve` (places: host worker threads; the DPU agent when started with
// --dpu). Exported as 'serve' for the lead to merge with the HTTP serve: one port, first byte 0xB7 = wire.
const help = `Usage: roam serve --bundle FILE.wasm [--bundle ...] [--port 7878] [--host 127.0.0.1] [--workers 2] [--max-frame BYTES]

Starts a server that owns the bundles' regions and runs their handlers on host cores (worker threads
sharing the regions' SharedArrayBuffers). Clients: import { connect } from 'roam/client'.
Protocol: engine/wire/README.md; places and steering: engine/places/README.md.

Options:
  --bundle FILE     a bundle to deploy (repeatable)
  --port P          port (default 7878; 0 = any free port, printed on start)
  --host H          address to bind (default 127.0.0.1)
  --workers N       host worker threads (default 2)
  --max-frame BYTES largest frame payload accepted (default 1048576)`;

const int = (v: string, what: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RoamError('E_USAGE', `${what} must be a non-negative integer, got '${v}'`);
  return n;
};

export const command: Command = {
  name: 'serve',
  summary: 'serve bundles over the roam binary protocol (places: host workers; steering)',
  help,
  async run(argv) {
    const { values } = parse(argv, {
      bundle: { type: 'string', multiple: true },
      port: { type: 'string', default: '7878' },
      host: { type: 'string', default: '127.0.0.1' },
      workers: { type: 'string', default: '2' },
      'max-frame': { type: 'string', default: String(1 << 20) },
    });
    const files = (values.bundle as string[] | undefined) ?? [];
    if (files.length === 0) throw new RoamError('E_USAGE', 'give at least one --bundle FILE.wasm');
    const bundles = files.map((f) => {
      try {
        return readFileSync(f);
      } catch (e) {
        throw new RoamError('E_USAGE', `cannot read bundle '${f}': ${(e as Error).message}`);
      }
    });
    const { listenWire } = await import('../../places/server.ts');
    const hostname = values.host as string;
    const server = await listenWire({ port: int(values.port as string, '--port'), hostname, hostWorkers: Math.max(1, int(values.workers as string, '--workers')), maxFrame: int(values['max-frame'] as string, '--max-frame') });
    for (const b of bundles) {
      const r = server.deploy(b);
      process.stdout.write(`deployed ${r.manifest.name} (id ${r.id}): ${r.manifest.handlers.map((h) => h.name).join(', ')}\n`);
    }
    process.stdout.write(`roam serve: listening on ${hostname}:${server.port} (roam wire protocol)\n`);
    await new Promise<void>((res) => {
      process.once('SIGINT', res);
      process.once('SIGTERM', res);
    });
    await server.close();
    return 0;
  },
};
export default command;
