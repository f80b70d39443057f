import net from 'node:net';
import { RoamError, isRoamError } from '../errors.ts';
import { HostPool, type HostPoolOptions } from './host-pool.ts';
import { Registry, type Registered } from './registry.ts';
import { RegionStore } from '../regions/region-store.ts';
import { DpuPlace } from './dpu-place.ts';
import type { Pending, Place, PlaceResult, ServerPlace } from './types.ts';
import { Steering, type SteeringOptions } from '../steering/policy.ts';
import { FrameDecoder } from '../wire/decoder.ts';
import { DEFAULT_MAX_FRAME, Kind, Place as WirePlace, encodeFrame, errorPayload, type Frame } from '../wire/frame.ts';
import { regionAtomic, regionRead, regionWrite } from './region-ops.ts';

export interface WireServerOptions {
  /** Largest frame payload accepted (bytes); larger frames get E_TOO_LARGE and are skipped. */
  maxFrame?: number;
  host?: HostPoolOptions;
  /** The dpu place (a DpuPlace, already started); regions then live in POSIX shm. */
  dpu?: Place;
  steering?: SteeringOptions;
  /** Multiplier on the dpu place's estimated reply time (default 1.5: host preferred when equal). */
  dpuBias?: number;
  registry?: Registry;
  /** Bundles (.wasm bytes) deployed at start. */
  bundles?: Uint8Array[];
  /** Host worker threads (shorthand for host.workers). */
  hostWorkers?: number;
}

export interface WireServerStats {
  connections: number;
  calls: number;
  errors: number;
  corrupt: number;
  truncated: number;
  byPlace: Record<ServerPlace, number>;
}

export interface WireServer {
  /** Serves one accepted socket (the lead's `roam serve` hands over sockets whose first byte is 0xB7). */
  handleSocket(socket: net.Socket): void;
  deploy(bytes: Uint8Array): Registered;
  readonly registry: Registry;
  readonly host: HostPool;
  readonly dpu: Place | undefined;
  readonly steering: Steering<ServerPlace>;
  readonly stats: WireServerStats;
  /** Runs one message through steering and a place, without a socket (tests, in-process callers). */
  dispatch(bundle: number, handler: number, payload: Uint8Array, place: number, done: (r: PlaceResult) => void): void;
  close(): Promise<void>;
}

/** A server for the binary protocol: owns the bundles' regions, runs handlers at its places; sockets are handed in. */
export function createWireServer(opts: WireServerOptions = {}): WireServer {
  const ws = createCore(opts.hostWorkers === undefined ? opts : { ...opts, host: { ...opts.host, workers: opts.hostWorkers } });
  for (const b of opts.bundles ?? []) ws.deploy(b);
  return ws;
}

function createCore(opts: WireServerOptions): WireServer {
  const maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME;
  const registry = opts.registry ?? new Registry(opts.dpu instanceof DpuPlace ? new RegionStore(opts.dpu.allocator) : undefined);
  const host = new HostPool(opts.host);
  const dpu = opts.dpu;
  const places: Place[] = dpu ? [host, dpu] : [host];
  const steering = new Steering<ServerPlace>(opts.steering);
  // DPU cores are slower and fewer than host cores: prefer the host until it is clearly congested.
  const dpuBias = opts.dpuBias ?? 1.5;
  const sockets = new Set<net.Socket>();
  const stats: WireServerStats = { connections: 0, calls: 0, errors: 0, corrupt: 0, truncated: 0, byPlace: { host: 0, dpu: 0 } };

  const fail = (code: string, message: string): PlaceResult => ({ ok: false, code, message });

  function pick(b: Registered, handler: number, requested: number): Place | PlaceResult {
    if (requested === WirePlace.HOST) return host;
    if (requested === WirePlace.DPU) return dpu && dpu.signals().available ? dpu : fail('E_PLACE_UNAVAILABLE', 'no DPU agent is attached to this server');
    if (requested === WirePlace.CLIENT) return fail('E_BAD_PLACE', 'place client runs in the client process; send it to the server as auto, host or dpu');
    if (requested !== WirePlace.AUTO) return fail('E_BAD_PLACE', `unknown place code ${requested}`);
    const name = steering.choose(`${b.id}:${handler}`, places.map((p) => ({ name: p.name, signals: p.signals(), bias: p.name === 'dpu' ? dpuBias : 1 })));
    return places.find((p) => p.name === name) ?? fail('E_PLACE_UNAVAILABLE', 'no place can run messages right now');
  }

  function dispatch(bundle: number, handler: number, payload: Uint8Array, place: number, done: (r: PlaceResult) => void): void {
    stats.calls++;
    const b = registry.get(bundle);
    if (!b) return done(fail('E_NO_BUNDLE', `no bundle with id ${bundle} is deployed`));
    if (!b.handlers.has(handler)) return done(fail('E_NO_HANDLER', `bundle '${b.manifest.name}' has no handler with type ${handler}`));
    const target = pick(b, handler, place);
    if (!('submit' in target)) return done(target);
    if (payload.length > target.maxPayload) return done(fail('E_TOO_LARGE', `payload of ${payload.length} bytes exceeds the ${target.maxPayload}-byte message limit`));
    stats.byPlace[target.name]++;
    const p: Pending = { bundle, handler, payload, accepted: performance.now(), done };
    target.submit(p);
  }
  // Queued messages rescued from a dead host worker or agent are steered again.
  const reroute = (p: Pending) => {
    const alive = places.filter((x) => x.signals().available);
    const t = alive.find((x) => x.name === 'host') ?? alive[0];
    if (t) t.submit(p);
    else p.done(fail('E_PLACE_UNAVAILABLE', 'no place can run messages right now'));
  };
  host.onOrphan = reroute;
  if (dpu instanceof DpuPlace) dpu.onOrphan = reroute;

  function handleSocket(socket: net.Socket): void {
    sockets.add(socket);
    stats.connections++;
    socket.setNoDelay(true);
    let corked = false;
    const send = (f: Omit<Frame, 'payload'>, payload: Uint8Array) => {
      if (socket.destroyed || !socket.writable) return;
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(encodeFrame(f, payload));
    };
    const reply = (req: Frame, payload: Uint8Array, place = 0) => send({ kind: Kind.REPLY, place, flags: 0, id: req.id, bundle: req.bundle, code: 0 }, payload);
    const error = (id: number, bundle: number, code: string, message: string) => {
      stats.errors++;
      send({ kind: Kind.ERROR, place: 0, flags: 0, id, bundle, code: 0 }, errorPayload(code, message));
    };
    const decoder = new FrameDecoder(maxFrame, {
      frame(f) {
        try {
          onFrame(f);
        } catch (e) {
          error(f.id, f.bundle, isRoamError(e) ? e.code : 'E_INTERNAL', (e as Error).message);
        }
      },
      oversize(h, len) {
        error(h.id, h.bundle, 'E_TOO_LARGE', `frame payload of ${len} bytes exceeds the ${maxFrame}-byte limit`);
      },
      corrupt(reason) {
        stats.corrupt++;
        error(0, 0, 'E_FRAME', `${reason}; closing the connection`);
        socket.end();
      },
    });
    const onFrame = (f: Frame) => {
      switch (f.kind) {
        case Kind.CALL: {
          const payload = f.payload;
          dispatch(f.bundle, f.code, payload, f.place, (r) => {
            if (r.ok) reply(f, r.reply, r.place === 'host' ? WirePlace.HOST : WirePlace.DPU);
            else error(f.id, f.bundle, r.code, r.message);
          });
          return;
        }
        case Kind.RESOLVE: {
          const name = Buffer.from(f.payload).toString('utf8');
          const b = registry.named(name);
          if (!b) throw new RoamError('E_NO_BUNDLE', `no bundle named '${name}' is deployed`);
          send({ kind: Kind.REPLY, place: 0, flags: 0, id: f.id, bundle: b.id, code: 0 }, Buffer.from(JSON.stringify({ id: b.id, manifest: b.manifest })));
          return;
        }
        case Kind.FETCH_BUNDLE:
          return reply(f, bundleOf(f).bytes);
        case Kind.REGION_READ:
          return reply(f, regionRead(bundleOf(f), f.code, f.payload, maxFrame));
        case Kind.REGION_WRITE:
          regionWrite(bundleOf(f), f.code, f.payload);
          return reply(f, new Uint8Array(0));
        case Kind.REGION_ATOMIC:
          return reply(f, regionAtomic(bundleOf(f), f.code, f.payload));
        case Kind.STATS:
          return reply(f, Buffer.from(JSON.stringify({ places: Object.fromEntries(places.map((p) => [p.name, p.signals()])), stats })));
        default:
          throw new RoamError('E_FRAME', `unknown frame kind ${f.kind}`);
      }
    };
    const bundleOf = (f: Frame) => {
      const b = registry.get(f.bundle);
      if (!b) throw new RoamError('E_NO_BUNDLE', `no bundle with id ${f.bundle} is deployed`);
      return b;
    };
    socket.on('data', (c: Buffer) => decoder.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (decoder.pending > 0) stats.truncated++;
      decoder.kill();
      sockets.delete(socket);
    });
  }

  return {
    handleSocket,
    registry,
    host,
    dpu,
    steering,
    stats,
    dispatch,
    deploy(bytes) {
      const r = registry.deploy(bytes);
      for (const p of places) p.deploy(r.info);
      return r;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(places.map((p) => p.close()));
    },
  };
}

/** Convenience for tests and `roam serve`: a TCP listener speaking only the binary protocol. */
export async function listenWire(opts: WireServerOptions & { port?: number; hostname?: string } = {}): Promise<WireServer & { port: number; server: net.Server }> {
  const ws = createWireServer(opts);
  const server = net.createServer((s) => ws.handleSocket(s));
  await new Promise<void>((res, rej) => server.once('error', rej).listen(opts.port ?? 0, opts.hostname ?? '127.0.0.1', res));
  const port = (server.address() as net.AddressInfo).port;
  const closeWire = ws.close;
  return Object.assign(ws, {
    port,
    server,
    async close() {
      server.close();
      await closeWire();
    },
  });
}
