import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';

const command: Command = {
  name: 'gpu',
  summary: 'show the gpu devices roam:gpu can use, and why one is missing',
  help: `Usage: roam gpu info [--json]

Probes the devices behind the roam:gpu capability and prints, for each, whether it is usable:
  webgpu  a real GPU through the webgpu package (Dawn); needs an adapter (Vulkan, Metal or D3D12)
  cpu     the cpu executor: built-in kernels on worker threads, always available, labelled as cpu

Functions use webgpu when an adapter exists and the cpu device otherwise (ROAM_GPU_DEVICE=cpu|webgpu
forces one).

Options:
  --json   machine-readable output

Examples:
  roam gpu info
  roam gpu info --json | jq '.devices[] | select(.available)'`,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
    if (positionals[0] !== 'info' || positionals.length !== 1) usage('usage: roam gpu info [--json]');
    const { probeDevices } = await import('../../gpu/detect.ts');
    const devices = await probeDevices();
    const chosen = devices.find((d) => d.available)!.kind;
    if (values.json) {
      process.stdout.write(JSON.stringify({ default: chosen, devices }, null, 2) + '\n');
      return 0;
    }
    const lines = devices.map((d) => `${d.kind.padEnd(7)} ${d.available ? 'available  ' : 'unavailable'}  ${d.detail}`);
    process.stdout.write(`${'DEVICE'.padEnd(7)} ${'STATUS'.padEnd(11)}  DETAIL\n${lines.join('\n')}\ndefault: ${chosen}${chosen === 'cpu' ? ' (cpu executor, not a GPU)' : ''}\n`);
    return 0;
  },
};
export default command;
