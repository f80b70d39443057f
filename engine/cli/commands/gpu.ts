import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';

const command: Command = {
  name: 'gpu',
  summary: 'show the gpu devices roam:gpu can use, which one it picks and why',
  help: `Usage: roam gpu info [--json] [--verbose]

Probes the devices behind the roam:gpu capability and prints, for each, whether it is usable:
  webgpu  a GPU through the webgpu package (Dawn); needs an adapter (Vulkan, Metal or D3D12).
          A software renderer (Mesa's llvmpipe/lavapipe, SwiftShader) is reported as such.
  cpu     the cpu executor: built-in kernels on worker threads, always available, labelled as cpu

Functions use webgpu on a hardware adapter and the cpu device otherwise, a software renderer
included (ROAM_GPU_DEVICE=cpu|webgpu forces one). The last line says which and why.

Options:
  --json      machine-readable output
  --verbose   also print what Dawn wrote on stderr while probing (also ROAM_GPU_DEBUG=1)

Examples:
  roam gpu info
  ROAM_GPU_DEVICE=webgpu roam gpu info
  roam gpu info --json | jq '.devices[] | select(.available)'`,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, verbose: { type: 'boolean' } });
    if (positionals[0] !== 'info' || positionals.length !== 1) usage('usage: roam gpu info [--json] [--verbose]');
    const { probeWebGpu, probeDevices, chooseDevice } = await import('../../gpu/detect.ts');
    const probe = probeWebGpu();
    const devices = await probeDevices({}, probe);
    const choice = chooseDevice(devices.find((d) => d.kind === 'webgpu'));
    const verbose = values.verbose || process.env.ROAM_GPU_DEBUG === '1';
    const dawnLog = verbose ? probe.dawnLog : undefined;
    if (values.json) {
      process.stdout.write(JSON.stringify({ default: choice.kind, reason: choice.reason, devices, ...(dawnLog ? { dawnLog } : {}) }, null, 2) + '\n');
      return 0;
    }
    const lines = devices.map((d) => `${d.kind.padEnd(7)} ${d.available ? 'available  ' : 'unavailable'}  ${d.detail}`);
    if (dawnLog) lines.push(...(dawnLog.length ? dawnLog.map((l) => `dawn: ${l}`) : ['dawn: (nothing on stderr)']));
    process.stdout.write(`${'DEVICE'.padEnd(7)} ${'STATUS'.padEnd(11)}  DETAIL\n${lines.join('\n')}\ndefault: ${choice.kind}${choice.kind === 'cpu' ? ' (cpu executor, not a GPU)' : ''}: ${choice.reason}\n`);
    return 0;
  },
};
export default command;
