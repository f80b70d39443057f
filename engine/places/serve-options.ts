// The binary-protocol side of `roam serve`, kept apart so the lead can merge it with the HTTP options in
// engine/cli/commands/serve.ts: parse these flags, call startWire, hand 0xB7-first sockets to handleSocket.
import { readFileSync } from 'node:fs';
import { parse } from '../cli/args.ts';
import { RoamError } from '../errors.ts';
import { createWireServer, type WireServer } from './server.ts';
import { DpuPlace } from './dpu-place.ts';

export const WIRE_SERVE_HELP = `Binary protocol (engine/wire/README.md):
  --bundle FILE     deploy a bundle for message handlers (repeatable)
  --workers N       host worker threads for handlers (default 2)
  --dpu             start a DPU agent process (roam dpu-agent) sharing regions through POSIX shm
  --max-frame B     largest frame payload (default 1048576)`;

export interface WireServeOptions {
  bundles: string[];
  workers: number;
  dpu: boolean;
  maxFrame: number;
}

export function parseWireServeArgs(argv: string[]): WireServeOptions {
  const { values } = parse(argv, {
    bundle: { type: 'string', multiple: true },
    workers: { type: 'string', default: '2' },
    dpu: { type: 'boolean', default: false },
    'max-frame': { type: 'string', default: String(1 << 20) },
  }, false);
  const int = (v: string, what: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RoamError('E_USAGE', `${what} must be a positive integer, got '${v}'`);
    return n;
  };
  return { bundles: values.bundle ?? [], workers: int(values.workers!, '--workers'), dpu: values.dpu!, maxFrame: int(values['max-frame']!, '--max-frame') };
}

/** Starts the wire side (host pool, optional agent) and deploys the bundles. */
export async function startWire(o: WireServeOptions, log: (line: string) => void = () => {}): Promise<WireServer> {
  let dpu: DpuPlace | undefined;
  if (o.dpu) {
    dpu = new DpuPlace();
    await dpu.start();
    log(`dpu agent pid ${dpu.child?.pid}`);
  }
  const ws = createWireServer({ maxFrame: o.maxFrame, host: { workers: o.workers }, ...(dpu ? { dpu } : {}) });
  try {
    for (const f of o.bundles) {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(f);
      } catch (e) {
        throw new RoamError('E_FILE', `cannot read bundle ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const r = ws.deploy(bytes);
      log(`handlers of ${r.manifest.name} (bundle id ${r.id}): ${r.manifest.handlers.map((h) => h.name).join(', ')}`);
    }
  } catch (e) {
    await ws.close(); // the host workers (and agent) would otherwise keep the process alive
    throw e;
  }
  return ws;
}
