// The binary-protocol side of `roam serve` (engine/cli/commands/serve.ts): its flags, their parsing, and
// startWire, whose server takes the 0xB7-first sockets through handleSocket.
import { RoamError } from '../errors.ts';
import type { WireAuth } from './wire-door.ts';
import { createWireServer, type WireServer } from './wire-server.ts';
import { DpuPlace } from '../places/dpu-place.ts';
import { RemoteDpuPlace } from '../places/remote-dpu-place.ts';
import { nativeNet } from '../wire/native-net.ts';

export const WIRE_SERVE_HELP = `Binary protocol (engine/wire/README.md):
  --bundle FILE     deploy a bundle at start (handlers and functions; repeatable; same as roam deploy)
  --workers N       host worker threads: one pool runs handlers and functions (default 2)
  --dpu             start a DPU agent process (roam dpu-agent) sharing regions through POSIX shm
  --max-frame B     largest frame payload (default 1048576)
  --inline-us US    run handlers (while the workers are idle) and functions measured under US µs on the
                    network thread
                    (default 100; at most 1 ms of it per event-loop turn; 0 = never: every host
                    message goes to a worker)
  --net native|node serve wire connections with native-host's roam_netio (default, where built) or
                    with Node's sockets
  --rdma            register every region with UCX and give authenticated clients its keys
                    (connect(url, { rdma: true }); engine/rdma/README.md); UCX_TLS and UCX_* apply
  --dpu-remote      the dpu place is a remote agent: roam dpu-agent --connect HOST:PORT --rdma
                    (this port, the admin token) on another machine reaches the regions through UCX
                    (needs --rdma; instead of --dpu's local agent over POSIX shm)`;

export interface WireServeOptions {
  workers: number;
  dpu: boolean;
  maxFrame: number;
  /** Inline threshold, µs (0 = off). */
  inlineUs: number;
  /** Serve connections with roam_netio where built (engine/wire/native-net.ts). */
  nativeIo: boolean;
  /** Regions registered with UCX, keys handed out over RDMA_INFO (engine/rdma/host.ts). */
  rdma?: boolean;
  /** The dpu place waits for `roam dpu-agent --rdma` to attach over the wire port (remote-dpu-place.ts). */
  dpuRemote?: boolean;
}

/** The binary side's flags, for `roam serve`'s parseArgs spec. */
export const WIRE_SERVE_FLAGS = {
  bundle: { type: 'string', multiple: true },
  workers: { type: 'string', default: '2' },
  dpu: { type: 'boolean', default: false },
  'max-frame': { type: 'string', default: String(1 << 20) },
  'inline-us': { type: 'string', default: '100' },
  net: { type: 'string', default: 'native' },
  rdma: { type: 'boolean', default: false },
  'dpu-remote': { type: 'boolean', default: false },
} as const;

/** The parsed values of WIRE_SERVE_FLAGS (every one but --bundle has its default; --bundle is the server's) as options; a bad value is a usage error naming the flag. */
export function wireServeOptions(values: { bundle?: string[]; workers: string; dpu: boolean; 'max-frame': string; 'inline-us': string; net: string; rdma?: boolean; 'dpu-remote'?: boolean }): WireServeOptions {
  const positive = (v: string, what: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RoamError('E_USAGE', `${what} must be a positive integer, got '${v}'`);
    return n;
  };
  const inlineUs = Number(values['inline-us']);
  if (!(inlineUs >= 0)) throw new RoamError('E_USAGE', `--inline-us must be a number of microseconds ≥ 0, got '${values['inline-us']}'`);
  if (values.net !== 'native' && values.net !== 'node') throw new RoamError('E_USAGE', `--net must be native or node, got '${values.net}'`);
  const dpuRemote = values['dpu-remote'] ?? false;
  if (dpuRemote && !values.rdma) throw new RoamError('E_USAGE', '--dpu-remote needs --rdma (the remote agent reaches the regions through UCX)');
  if (dpuRemote && values.dpu) throw new RoamError('E_USAGE', 'give --dpu (a local agent over POSIX shm) or --dpu-remote, not both');
  return { workers: positive(values.workers, '--workers'), dpu: values.dpu, maxFrame: positive(values['max-frame'], '--max-frame'), inlineUs, nativeIo: values.net === 'native', rdma: values.rdma ?? false, dpuRemote };
}

/** Starts the wire side (host pool, optional agent); bundles are deployed through the server's registry. */
export async function startWire(o: WireServeOptions, auth: WireAuth, log: (line: string) => void = () => {}, weight?: (tenant: string) => number): Promise<WireServer> {
  let dpu: DpuPlace | RemoteDpuPlace | undefined;
  if (o.dpu) {
    const local = new DpuPlace();
    await local.start();
    log(`dpu agent pid ${local.child?.pid}`);
    dpu = local;
  } else if (o.dpuRemote) {
    dpu = new RemoteDpuPlace();
    log('dpu: waiting for a remote agent: roam dpu-agent --connect HOST:PORT --rdma --token ADMIN_TOKEN');
  }
  const rdma = o.rdma ? await openRdma(log) : undefined;
  const ws = createWireServer({ maxFrame: o.maxFrame, nativeIo: o.nativeIo, auth, ...(weight ? { weight } : {}), host: { workers: o.workers, inline: { maxNs: o.inlineUs * 1000 } }, ...(dpu ? { dpu } : {}), ...(rdma ? { rdma } : {}) });
  if (rdma) {
    const close = ws.close;
    ws.close = () => close().finally(() => rdma.close());
  }
  if (o.nativeIo && !nativeNet()) log("wire connections: Node's sockets (native-host's roam_netio is not built: npm run build:native)");
  return ws;
}

/** The server's UCX worker; says which transports UCX offers (UCX_TLS narrows them). */
async function openRdma(log: (line: string) => void) {
  const { RdmaHost } = await import('../rdma/host.ts');
  const h = RdmaHost.open();
  const s = h.stats();
  log(`rdma: ${s.ucx}, transports ${s.transports.join(' ')}${process.env.UCX_TLS ? ` (UCX_TLS=${process.env.UCX_TLS})` : ''}`);
  return h;
}
