import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import type { LoadMode } from '../../places/background-load.ts';

const command: Command = {
  name: 'demo',
  summary: 'kv under YCSB-B, host made busy halfway: watch steering shift load to the DPU agent',
  help: `Usage: roam demo [--seconds 12] [--window 128] [--load block|spin] [--ui [--port P] [--token T] [--wait S]] [--quiet]

Starts a server (2 host worker threads) and a DPU agent process sharing the kv table through POSIX shm,
loads 10 000 keys, runs YCSB-B (95 % get / 5 % put, zipfian) from a client with place auto, makes the
host cores busy halfway, and prints every second ops/s, p50 and p99 per place, then the shift time.

--load block (default): the host workers are held 95 % of each 10 ms without using the CPU (other work
owns those cores; the DPU keeps cores of its own). --load spin burns the CPU instead: on a 2-core machine
that also starves the DPU agent and the client, which real DPU cores would not share.

--ui serves the live dashboard on the demo's server (http://127.0.0.1:P/ui, P from --port, default any
free port; printed): places, the steering timeline with the shift marked, bundles. The run starts once a
page connects (or after --wait seconds, default 60; 0 = at once), and the server keeps serving after it
until Ctrl-C. --token T (or ROAM_TOKEN) makes the page ask for T; without one the server binds 127.0.0.1 only.

Examples:
  roam demo
  roam demo --seconds 30 --load spin
  roam demo --ui --port 8090`,
  async run(argv) {
    const { values } = parse(argv, {
      seconds: { type: 'string', default: '12' }, window: { type: 'string', default: '128' }, load: { type: 'string', default: 'block' },
      ui: { type: 'boolean', default: false }, port: { type: 'string', default: '0' }, token: { type: 'string' }, wait: { type: 'string', default: '60' }, quiet: { type: 'boolean', short: 'q' },
    }, false);
    if (values.load !== 'block' && values.load !== 'spin') usage(`--load must be block or spin, not '${values.load}'`);
    const port = Number(values.port), wait = Number(values.wait);
    if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`--port must be a port number, not '${values.port}'`);
    if (!(wait >= 0)) usage(`--wait must be a number of seconds, not '${values.wait}'`);
    // Start-up (build kv, start the server, the DPU agent and the client, load the keys) says nothing
    // for seconds: a spinner on a terminal until the demo's first line.
    const p = (await import('../progress.ts')).progress({ quiet: values.quiet });
    p.step('starting: kv bundle, server with 2 host workers, DPU agent, 10 000 keys');
    const write = process.stdout.write;
    process.stdout.write = function first(this: NodeJS.WriteStream, ...args: Parameters<typeof write>) {
      process.stdout.write = write;
      p.done('started');
      return write.apply(this, args);
    } as typeof write;
    const { runDemo } = await import('../../demo/demo.ts');
    const ui = values.ui ? { port, token: values.token ?? process.env.ROAM_TOKEN ?? null, waitMs: wait * 1000 } : undefined;
    return runDemo({ seconds: Number(values.seconds), window: Number(values.window), load: values.load as LoadMode, ...(ui ? { ui } : {}) });
  },
};
export default command;
