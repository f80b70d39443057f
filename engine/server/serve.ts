/**
 * `roam serve` composed: one registry with two front doors on one port — HTTP (control API, functions,
 * chains, metrics) and the binary wire protocol (message handlers at the places) — sharing tenants,
 * tokens, regions and state. The CLI command is only option parsing around this.
 */
import { readFileSync } from 'node:fs';
import { readChainsFile } from '../chains/chains-file.ts';
import { RoamError } from '../errors.ts';
import { log as engineLog } from '../observe/log.ts';
import { scraped } from '../observe/metrics.ts';
import type { Registry as PromRegistry } from 'prom-client';
import { TenantTable } from '../tenancy/tenants.ts';
import { Authenticator } from '../tenancy/auth.ts';
import { createGateway, type Gateway } from '../http/gateway.ts';
import { shareHttpPort, type PortLimits, type PortStats, type SharedPort } from './shared-port.ts';
import { startWire, type WireServeOptions } from './wire-options.ts';
import type { WireServer } from './wire-server.ts';

export interface ServeOptions {
  port: number;
  host: string;
  token: string | null;
  stateDir?: string;
  tenantsFile?: string;
  chainsFile?: string;
  threads?: number;
  maxBodyBytes?: number;
  timeoutMs?: number;
  /** Region memory all tenants together may hold, bytes. */
  maxRegionBytes?: number;
  /** The places for message handlers (host workers, DPU agent, wire connections). */
  wire: WireServeOptions;
  /** Bundle files deployed at start as the admin (not persisted: they come from the command line). */
  bundles?: string[];
  /** Start-up and warning lines (default: the engine's logger, engine/observe/log.ts). */
  log?: (line: string) => void;
  /** Hosts, IPs and CIDR ranges remote chain steps may reach (engine/chains/remote-allow.ts); none by default. */
  remoteAllow?: string[];
  /** Connection limits and timeouts of the port (shared-port.ts). */
  portLimits?: Partial<PortLimits>;
}

/** Starts the server; `close` stops both doors, the places and the workers. */
export async function serve(o: ServeOptions): Promise<{ gateway: Gateway; wire: WireServer; url: string; portStats: PortStats; close: () => Promise<void> }> {
  const log = o.log ?? ((line: string) => engineLog('info', line));
  const tenants = o.tenantsFile ? TenantTable.fromFile(o.tenantsFile) : new TenantTable();
  const auth = new Authenticator(o.token, tenants);
  // Handler messages queue fairly at the host by their tenant's weight, as function calls do.
  const wire = await startWire(o.wire, auth, log, (t) => tenants.get(t).weight);
  let gateway: Gateway;
  try {
    gateway = await createGateway({
      token: o.token,
      auth,
      wire,
      // --inline-us: the same bound for functions on the network thread as for handlers.
      inline: { maxNs: o.wire.inlineUs * 1000 },
      tenants,
      ...(o.stateDir ? { stateDir: o.stateDir } : {}),
      ...(o.threads ? { threads: o.threads } : {}),
      ...(o.maxBodyBytes ? { maxBodyBytes: o.maxBodyBytes } : {}),
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.maxRegionBytes ? { maxRegionBytes: o.maxRegionBytes } : {}),
      ...(o.remoteAllow ? { remoteAllow: o.remoteAllow } : {}),
    });
  } catch (e) {
    await wire.close(); // the host workers (and agent) would otherwise keep the process alive
    throw e;
  }
  let port: SharedPort | undefined;
  const close = async () => {
    const done = Promise.all([gateway.close(), wire.close()]);
    port?.dropSilent(); // connections that never sent a byte: close() would wait for them (shared-port.ts)
    await done;
  };
  try {
    for (const f of o.bundles ?? []) {
      const b = await gateway.registry.deploy(null, readBundleFile(f), null, false);
      if (b.wireId !== null) log(`handlers of ${b.name} (bundle id ${b.wireId}): ${b.manifest.handlers.map((h) => h.name).join(', ')}`);
      if (b.manifest.functions.length) log(`functions of ${b.name}: ${b.manifest.functions.map((f) => f.name).join(', ')}`);
    }
    if (o.chainsFile) for (const [route, spec] of Object.entries(readChainsFile(o.chainsFile))) gateway.registry.putChain(route, spec);
  } catch (e) {
    await close();
    throw e;
  }
  port = shareHttpPort(gateway.server, (socket, first, closed) => wire.handleSocket(socket, first, closed), o.portLimits);
  registerPortMetrics(gateway.metrics.registry, port.stats);
  const url = await gateway.listen(o.port, o.host);
  return { gateway, wire, url, portStats: port.stats, close };
}

/** The port's connection limits at work (shared-port.ts): refusals before any request is read. */
function registerPortMetrics(r: PromRegistry, s: PortStats): void {
  scraped(r, 'roam_port_connections_open', 'Connections open on the port (HTTP and wire)', 'gauge', () => [{ labels: {}, value: s.open }]);
  scraped(r, 'roam_port_connections_refused_total', 'Connections closed at accept: over the server\'s or one address\'s connection limit', 'counter', () => [
    { labels: { reason: 'server_limit' }, value: s.refusedServer },
    { labels: { reason: 'address_limit' }, value: s.refusedAddress },
  ]);
  scraped(r, 'roam_port_first_byte_timeouts_total', 'Connections closed for sending nothing within the first-byte timeout', 'counter', () => [{ labels: {}, value: s.firstByteTimeouts }]);
}

function readBundleFile(f: string): Uint8Array {
  try {
    return readFileSync(f);
  } catch (e) {
    throw new RoamError('E_FILE', `cannot read bundle ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
