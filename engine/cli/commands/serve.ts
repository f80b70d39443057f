import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { RoamError } from '../../errors.ts';
import { log as engineLog } from '../../observe/log.ts';

import type { PortLimits } from '../../server/shared-port.ts';
import { WIRE_SERVE_FLAGS, WIRE_SERVE_HELP, wireServeOptions } from '../../server/wire-options.ts';

const help = `Usage: roam serve [--port P] [--host H] [--token T | --no-auth] [--state DIR] [--tenants FILE] [--chains FILE]
                  [--bundle FILE ...] [--workers N] [--dpu] [--max-frame B] [--inline-us US] [--rdma]

One engine, one port, two front doors on one registry (told apart by each connection's first byte):
- HTTP: control API under /v1 (bearer token), POST|GET /fn/NAME/..., POST /chain/ROUTE/...,
  GET /metrics (Prometheus). See engine/http/README.md.
- the roam binary protocol for message handlers (clients: import { connect } from 'roam/client'),
  run on host worker threads or a DPU agent and steered per message. See engine/places/README.md.

Options:
  --port P          port (default 8080; 0 = any free port, printed on start)
  --host H          address to bind (default 127.0.0.1)
  --token T         admin token for the control API (or ROAM_TOKEN)
  --no-auth         leave the control API open (refused unless given explicitly)
  --state DIR       persist deployed bundles and chains in DIR (they come back after a restart)
  --tenants FILE    tenant weights, tokens and caps: { "tenants": { "shop": { "weight": 6 } } }
  --chains FILE     chain routes (roam.chains.json): { "chains": { "checkout": { "steps": [...] } } }
  --threads N       the same as --workers (one pool of host workers runs handlers and functions)
  --max-body BYTES  largest invocation body (default 1048576)
  --timeout-ms MS   watchdog per run (default 10000)
  --max-region-mib M  region memory all tenants' bundles together may hold (default 4096)

Connections (engine/server/shared-port.ts; 0 = no bound; a refusal or timeout is logged once per 10 s):
  --max-connections N     connections open at once (default 4096)
  --max-per-address N     connections open at once from one remote address (default 256)
  --first-byte-ms MS      close a connection that sends nothing this long after accept (default 10000)
  --header-timeout-ms MS  close an HTTP request whose headers are not complete after MS (default 10000)
  --remote-allow H        a host name, IP or CIDR range chain steps named by URL may reach (repeatable;
                          none by default: every remote step is refused, 403 E_REMOTE_DENIED)


${WIRE_SERVE_HELP}

Examples:
  ROAM_TOKEN=secret roam serve --port 8080 --state .roam
  roam serve --no-auth --port 7878 --bundle functions/kv/build/kv.wasm --dpu`;

export const command: Command = {
  name: 'serve',
  summary: 'serve functions (HTTP) and message handlers (binary protocol) on one port',
  help,
  async run(argv) {
    const { values } = parse(
      argv,
      {
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        token: { type: 'string' },
        'no-auth': { type: 'boolean', default: false },
        state: { type: 'string' },
        tenants: { type: 'string' },
        chains: { type: 'string' },
        threads: { type: 'string' },
        'max-body': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'max-region-mib': { type: 'string' },
        'max-connections': { type: 'string' },
        'max-per-address': { type: 'string' },
        'first-byte-ms': { type: 'string' },
        'header-timeout-ms': { type: 'string' },
        'remote-allow': { type: 'string', multiple: true },
        ...WIRE_SERVE_FLAGS,
      },
      false,
    );
    const token = values.token ?? process.env.ROAM_TOKEN ?? null;
    if (token === null && !values['no-auth']) throw new RoamError('E_USAGE', 'give --token T (or ROAM_TOKEN), or --no-auth to leave the control API open');
    const int = (v: string | undefined, what: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new RoamError('E_USAGE', `${what} must be a non-negative integer`);
      return n;
    };
    const remoteAllow = values['remote-allow'] ? (values['remote-allow'] as string[]).flatMap((v) => v.split(',')) : undefined;
    if (remoteAllow) new (await import('../../chains/remote-allow.ts')).RemoteAllow(remoteAllow); // a bad entry is a usage error before anything starts
    const { serve } = await import('../../server/serve.ts');
    const { url, close } = await serve({
      // One pool: --threads (functions' old flag) and --workers (handlers') size the same host workers.
      wire: wireServeOptions(values.threads ? { ...values, workers: values.threads } : values),
      bundles: values.bundle ?? [],
      log: (line) => engineLog('info', line),
      port: int(values.port, '--port')!,
      host: values.host!,
      token,
      ...(values.state ? { stateDir: values.state } : {}),
      ...(values.tenants ? { tenantsFile: values.tenants } : {}),
      ...(values.chains ? { chainsFile: values.chains } : {}),
      ...(values['max-body'] ? { maxBodyBytes: int(values['max-body'], '--max-body')! } : {}),
      ...(values['timeout-ms'] ? { timeoutMs: int(values['timeout-ms'], '--timeout-ms')! } : {}),
      ...(values['max-region-mib'] ? { maxRegionBytes: int(values['max-region-mib'], '--max-region-mib')! * 2 ** 20 } : {}),
      portLimits: portLimits(values, int),
      ...(remoteAllow ? { remoteAllow } : {}),
    });
    engineLog('info', `serving on ${url}`, { url });
    await new Promise<void>((resolve) => {
      const stop = () => void close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
export default command;

/** The connection flags that were given (the rest keep shared-port.ts's defaults). */
function portLimits(values: Record<string, unknown>, int: (v: string | undefined, what: string) => number | undefined): Partial<PortLimits> {
  const out: Partial<PortLimits> = {};
  const flags = [['max-connections', 'maxConnections'], ['max-per-address', 'maxPerAddress'], ['first-byte-ms', 'firstByteMs'], ['header-timeout-ms', 'headersMs']] as const;
  for (const [flag, key] of flags) {
    const n = int(values[flag] as string | undefined, `--${flag}`);
    if (n !== undefined) out[key] = n;
  }
  return out;
}
