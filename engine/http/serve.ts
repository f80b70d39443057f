/** Starts a gateway from `roam serve` options; the CLI command is only option parsing around this. */
import { readChainsFile } from '../chains/chains-file.ts';
import { TenantTable } from '../tenancy/tenants.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { shareHttpPort, type PortLimits, type PortStats } from '../server/shared-port.ts';
import type { WireServer } from '../places/server.ts';

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
  /** Message handlers over the binary protocol on the same port (engine/places). */
  wire?: WireServer;
  /** Hosts, IPs and CIDR ranges remote chain steps may reach (engine/chains/remote-allow.ts); none by default. */
  remoteAllow?: string[];
  /** Connection limits and timeouts of the port (engine/server/shared-port.ts). */
  portLimits?: Partial<PortLimits>;
}

/** Starts the gateway (and shares its port with the wire server, if given); `close` stops both. */
export async function serve(o: ServeOptions): Promise<{ gateway: Gateway; url: string; port: PortStats; close: () => Promise<void> }> {
  const gateway = await createGateway({
    token: o.token,
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.tenantsFile ? { tenants: TenantTable.fromFile(o.tenantsFile) } : {}),
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.maxBodyBytes ? { maxBodyBytes: o.maxBodyBytes } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.remoteAllow ? { remoteAllow: o.remoteAllow } : {}),
  });
  if (o.chainsFile) for (const [route, spec] of Object.entries(readChainsFile(o.chainsFile))) gateway.registry.putChain(route, spec);
  const wire = o.wire;
  const port = shareHttpPort(
    gateway.server,
    wire
      ? (socket, first, closed) => wire.handleSocket(socket, first, closed)
      : (socket, _first, closed) => {
          socket.once('close', closed);
          socket.destroy(); // no wire server: a binary client gets its connection closed
        },
    o.portLimits,
  );
  const url = await gateway.listen(o.port, o.host);
  const close = async () => {
    await Promise.all([gateway.close(), o.wire?.close()]);
  };
  return { gateway, url, port, close };
}
