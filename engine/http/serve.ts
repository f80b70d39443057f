/** Starts a gateway from `roam serve` options; the CLI command is only option parsing around this. */
import { readChainsFile } from '../chains/chains-file.ts';
import { TenantTable } from '../tenancy/tenants.ts';
import { createGateway, type Gateway } from './gateway.ts';

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
}

export async function serve(o: ServeOptions): Promise<{ gateway: Gateway; url: string }> {
  const gateway = await createGateway({
    token: o.token,
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.tenantsFile ? { tenants: TenantTable.fromFile(o.tenantsFile) } : {}),
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.maxBodyBytes ? { maxBodyBytes: o.maxBodyBytes } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
  if (o.chainsFile) for (const [route, spec] of Object.entries(readChainsFile(o.chainsFile))) gateway.registry.putChain(route, spec);
  const url = await gateway.listen(o.port, o.host);
  return { gateway, url };
}
