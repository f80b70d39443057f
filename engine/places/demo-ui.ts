/**
 * `roam demo --ui`: the demo's wire server behind `roam serve`'s port, so the dashboard at /ui shows the
 * places, the steering timeline and the shift live; after the run it keeps serving until Ctrl-C.
 */
import { serve } from '../http/serve.ts';
import type { WireServer } from './server.ts';

export interface DemoUi {
  /** Port to listen on (0 = any free one). */
  port: number;
  /** Admin token the page asks for; null = none (the server binds 127.0.0.1 only). */
  token: string | null;
  /** Wait this long for a page to open before the run starts, so the shift is seen as it happens (0 = start at once). */
  waitMs: number;
}

export async function serveDemoUi(wire: WireServer, o: DemoUi) {
  const { url, gateway, close } = await serve({ wire, port: o.port, host: '127.0.0.1', token: o.token, threads: 1 });
  const port = Number(new URL(url).port);
  process.stdout.write(`roam demo: dashboard at ${url}/ui${o.token ? ' (it asks for the token you gave)' : ' (no token: bound to 127.0.0.1 only)'}\n`);
  return {
    wire,
    port,
    url,
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
