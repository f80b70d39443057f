// The DPU agent on another machine (`roam dpu-agent --connect HOST:PORT --rdma`): it attaches to a
// `roam serve --rdma --dpu-remote` over the server's wire port with a token (the admin's: the agent runs
// every tenant's handlers), receives each bundle and its UCX keys in AGENT frames and its messages as
// CALL frames, and runs them with the bundle's regions reached through UCX — one-sided where the
// transport is (shared memory, verbs), owner-answered active messages over TCP — with the client
// place's region access (engine/rdma/client-side.ts). Each bundle's guest reaches only the keys the server
// gave for that bundle. The local shm agent (places/dpu-agent.ts) stays the default on one machine. It lives
// here, not in places/, because it speaks the wire protocol (the places hold no frame decoding).
import { log as engineLog } from '../observe/log.ts';
import net from 'node:net';
import { Engine } from '../runtime/engine.ts';
import { RegionStore } from '../regions/region-store.ts';
import { RoamError } from '../errors.ts';
import { remoteRegions } from '../client/remote-regions.ts';
import { RdmaClientSide } from '../rdma/client-side.ts';
import type { RemoteIo } from '../rdma/remote-io.ts';
import { FrameDecoder } from '../wire/decoder.ts';
import { AgentOp, Kind, Place, encodeFrame, errorPayload, parseError, type Frame } from '../wire/frame.ts';
import { SlotRunner } from '../places/slot-runner.ts';
import { decodeDeploy } from '../places/remote-dpu-place.ts';

/** A DEPLOY frame carries a whole bundle (the control API takes up to 16 MiB by default). */
const MAX_FRAME = 64 << 20;
const HANDSHAKE = { auth: 1, agent: 2 } as const;

export interface RemoteAgentOptions {
  host: string;
  port: number;
  /** The server's admin token (null: a server without tokens). */
  token: string | null;
  log?: (line: string) => void;
}

/** Runs until the server closes the connection; throws when the server refuses the agent. */
export async function runRemoteAgent(o: RemoteAgentOptions): Promise<void> {
  const log = o.log ?? ((line: string) => engineLog('info', `dpu-agent: ${line}`));
  const opened = RdmaClientSide.open();
  if ('error' in opened) throw new RoamError('E_RDMA_UNAVAILABLE', `--rdma needs UCX here: ${opened.error}`);
  const side = opened.side;
  const runner = new AgentRunner(side);
  const sock = net.connect(o.port, o.host);
  sock.setNoDelay(true);
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  let out: Buffer[] = [];
  const send = (kind: number, id: number, bundle: number, code: number, payload: Uint8Array) => out.push(encodeFrame({ kind, place: Place.DPU, flags: 0, id, bundle, code }, payload));
  let refused: RoamError | null = null;
  const decoder = new FrameDecoder(MAX_FRAME, {
    frame(f) {
      if (f.kind === Kind.CALL) return runner.call(f, send);
      if (f.kind === Kind.AGENT) {
        try {
          return runner.control(f, log);
        } catch (e) {
          return log(`bundle ${f.bundle}: not deployed here: ${(e as Error).message}`); // its messages answer E_NO_BUNDLE
        }
      }
      if (f.kind === Kind.ERROR) {
        // Only the handshake's requests are answered: an error is the server refusing this agent.
        const e = parseError(f.payload);
        refused = new RoamError(e.code, `the server refused the agent: ${e.code} ${e.message}`);
        sock.destroy();
      } else if (f.kind === Kind.REPLY && f.id === HANDSHAKE.agent) log(`attached to ${o.host}:${o.port} as its dpu place`);
    },
    oversize: (h, len) => send(Kind.ERROR, h.id, h.bundle, 0, errorPayload('E_TOO_LARGE', `frame of ${len} bytes exceeds the agent's ${MAX_FRAME}`)),
    corrupt(reason) {
      log(`the server's stream is not roam framing (${reason}); leaving`);
      sock.destroy();
    },
  });
  sock.on('data', (c: Buffer) => {
    decoder.push(c);
    if (out.length) {
      sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      out = [];
    }
  });
  sock.on('error', (e) => log(`connection to ${o.host}:${o.port} failed: ${e.message}`));
  const closed = new Promise<void>((res) => sock.once('close', () => res()));
  if (o.token !== null) send(Kind.AUTH, HANDSHAKE.auth, 0, 0, Buffer.from(o.token));
  send(Kind.AGENT, HANDSHAKE.agent, 0, 0, Buffer.from(JSON.stringify(side.descriptor())));
  sock.write(Buffer.concat(out));
  out = [];
  await closed;
  if (refused) throw refused;
}

/** The bundles the server assigned and the engine that runs them, each with only its own regions' keys. */
class AgentRunner {
  private readonly runner: SlotRunner;
  private io: RemoteIo | undefined;
  /** Why a bundle's regions cannot be reached (no keys, keys that did not unpack): its messages fail so. */
  private readonly broken = new Map<number, string>();

  constructor(private readonly side: RdmaClientSide) {
    const io: RemoteIo = (kind, region, payload) => {
      if (!this.io) throw new RoamError('E_REGION', 'this bundle has no regions at the dpu place');
      return this.io(kind, region, payload);
    };
    // Region bytes are never touched here (the capability goes to the host over UCX); the store only satisfies binding.
    this.runner = new SlotRunner(new Engine({ regions: new RegionStore((_k, size) => new ArrayBuffer(size)), capabilities: [remoteRegions(io)] }));
  }

  control(f: Frame, log: (line: string) => void): void {
    const id = f.bundle;
    this.undeploy(id);
    if (f.code !== AgentOp.DEPLOY) return;
    const { deploy, bytes } = decodeDeploy(f.payload);
    this.runner.deploy({ id, bytes, regions: {} });
    const path = deploy.rdma ? this.side.deploy(id, deploy.rdma) : { path: 'wire', reason: deploy.error ?? 'no keys' };
    if (path.path !== 'ucx') {
      this.broken.set(id, path.reason);
      log(`bundle ${id}: its regions are out of reach: ${path.reason}`);
    }
  }

  call(f: Frame, send: (kind: number, id: number, bundle: number, code: number, payload: Uint8Array) => void): void {
    const why = this.broken.get(f.bundle);
    if (why !== undefined) return send(Kind.ERROR, f.id, f.bundle, 0, errorPayload('E_RDMA_UNAVAILABLE', `the dpu agent cannot reach this bundle's regions: ${why}`));
    this.io = this.side.io(f.bundle);
    const r = this.runner.execute(f.bundle, f.code, f.payload);
    if (r.status === 0) send(Kind.REPLY, f.id, f.bundle, Math.min(0xffff, Math.round(r.ns / 1000)), r.out);
    else send(Kind.ERROR, f.id, f.bundle, 0, r.out);
  }

  private undeploy(id: number): void {
    this.runner.undeploy({ id, bytes: new Uint8Array(0), regions: {} });
    this.side.drop(id);
    this.broken.delete(id);
  }
}
