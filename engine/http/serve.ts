/** Starts a gateway from `roam serve` options; the CLI command is only option parsing around this. */
import { readChainsFile } from '../chains/chains-file.ts';
import { TenantTable } from '../tenancy/tenants.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { shareHttpPort } from '../server/shared-port.ts';
import type { WireServer } from '../places/server.ts';
import { wireSource } from '../dashboard/index.ts';

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
}

/** Starts the gateway (and shares its port with the wire server, if given); `close` stops both. */
export async function serve(o: ServeOptions): Promise<{ gateway: Gateway; url: string; close: () => Promise<void> }> {
  const gateway = await createGateway({
    token: o.token,
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.tenantsFile ? { tenants: TenantTable.fromFile(o.tenantsFile) } : {}),
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.maxBodyBytes ? { maxBodyBytes: o.maxBodyBytes } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
  if (o.chainsFile) for (const [route, spec] of Object.entries(readChainsFile(o.chainsFile))) gateway.registry.putChain(route, spec);
  let port: ReturnType<typeof shareHttpPort> | undefined;
  if (o.wire) {
    const wire = o.wire;
    gateway.dashboard.add(wireSource(wire)); // places and steering on the dashboard (engine/dashboard)
    port = shareHttpPort(gateway.server, (socket, first) => wire.handleSocket(socket, first));
  }
  const url = await gateway.listen(o.port, o.host);
  const close = async () => {
    const done = Promise.all([gateway.close(), o.wire?.close()]);
    port?.dropSilent(); // connections that never sent a byte: close() would wait for them (shared-port.ts)
    await done;
  };
  return { gateway, url, close };
}
