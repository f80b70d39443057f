import type { Command } from '../command.ts';
import { parse } from '../args.ts';

const command: Command = {
  name: 'demo',
  summary: 'kv under YCSB-B, host made busy halfway: watch steering shift load to the DPU agent',
  help: `Usage: roam demo [--seconds 12] [--window 128]

Starts a server (2 host worker threads) and a DPU agent process sharing the kv table through POSIX shm,
loads 10 000 keys, runs YCSB-B (95 % get / 5 % put, zipfian) from a client with place auto, makes the
host cores busy halfway, and prints every second ops/s, p50 and p99 per place, then the shift time.`,
  async run(argv) {
    const { values } = parse(argv, { seconds: { type: 'string', default: '12' }, window: { type: 'string', default: '128' } }, false);
    const { runDemo } = await import('../../places/demo.ts');
    return runDemo({ seconds: Number(values.seconds), window: Number(values.window) });
  },
};
export default command;
