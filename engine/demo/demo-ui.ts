/**
 * `roam demo --ui`: the demo's places behind `roam serve`'s composition — the gateway (with the dashboard at
 * /ui) and the wire server sharing one registry and one port — so the page shows the places, the steering
 * timeline and the shift live; after the run it keeps serving until Ctrl-C.
 */
import { createGateway } from '../http/gateway.ts';
import { shareHttpPort } from '../server/shared-port.ts';
import { createWireServer, type WireServer } from '../server/wire-server.ts';
import type { DpuPlace } from '../places/dpu-place.ts';
import { Authenticator } from '../tenancy/auth.ts';
import { TenantTable } from '../tenancy/tenants.ts';

export interface DemoUi {
  /** Port to listen on (0 = any free one). */
  port: number;
  /** Admin token the page (and the demo's own client) uses; null = none (the server binds 127.0.0.1 only). */
  token: string | null;
  /** Wait this long for a page to open before the run starts, so the shift is seen as it happens (0 = start at once). */
  waitMs: number;
}

export async function serveDemoUi(dpu: DpuPlace, o: DemoUi) {
  const tenants = new TenantTable();
  const auth = new Authenticator(o.token, tenants);
  const wire: WireServer = createWireServer({ host: { workers: 2 }, dpu, auth });
  const gateway = await createGateway({ token: o.token, auth, wire, tenants, threads: 2 });
  const port = shareHttpPort(gateway.server, (socket, first, closed) => wire.handleSocket(socket, first, closed));
  const url = await gateway.listen(o.port, '127.0.0.1');
  process.stdout.write(`roam demo: dashboard at ${url}/ui${o.token ? ' (it asks for the token you gave)' : ' (no token: bound to 127.0.0.1 only)'}\n`);
  const close = async () => {
    const done = Promise.all([gateway.close(), wire.close()]);
    port.dropSilent();
    await done;
  };
  return {
    wire,
    port: Number(new URL(url).port),
    url,
    /** Deploys a bundle through the one registry (so the dashboard lists it), as `roam serve --bundle` does; its wire id. */
    async deploy(bytes: Uint8Array): Promise<number> {
      return (await gateway.registry.deploy(null, bytes, null, false)).wireId!;
    },
    /** Resolves once a page is streaming, or after `waitMs`. */
    async waitForPage(): Promise<void> {
      if (o.waitMs <= 0 || gateway.dashboard.subscribers > 0) return;
      process.stdout.write(`roam demo: open the dashboard; the run starts when it connects (or in ${Math.round(o.waitMs / 1000)} s)\n`);
      const until = Date.now() + o.waitMs;
      while (gateway.dashboard.subscribers === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    },
    /** Keeps serving until SIGINT/SIGTERM, then closes; the exit code. */
    async keepServing(): Promise<number> {
      process.stdout.write(`\nroam demo: still serving the dashboard at ${url}/ui — Ctrl-C to stop\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await close();
      return 0;
    },
  };
}
