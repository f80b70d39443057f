// Two "hosts" on one machine: network namespaces joined by a veth pair, made and removed by the test
// (root needed; CI runs as root). `a` may be the test's own (root) namespace, so the test process can
// reach a server there directly; `b` is always a namespace of its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { rdmaAvailable } from '../../engine/rdma/worker.ts';

export interface VethPair {
  /** Namespace names (`a` is null when it is the test's own namespace). */
  nsA: string | null;
  nsB: string;
  vethA: string;
  vethB: string;
  /** Addresses on the veth ends (a /30). */
  ipA: string;
  ipB: string;
  /** `[cmd, args]` that run `argv` inside namespace `ns` (or as it is for null). */
  exec(ns: string | null, argv: string[]): [string, string[]];
  remove(): void;
}

/** Why the netns tests cannot run here ('' when they can). */
export function netnsSkipReason(): string {
  if (!rdmaAvailable()) return 'the roam_ucx addon is not built (install libucx-dev, then npm run build:native)';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'no `ip` command (iproute2)';
  return '';
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/** Makes the pair; `prefix` keeps names of several tests apart (interface names ≤ 15 bytes). */
export function vethPair(prefix: string, o: { rootSide?: boolean } = {}): VethPair {
  const tag = process.pid % 10000;
  const nsA = o.rootSide ? null : `${prefix}A${tag}`, nsB = `${prefix}B${tag}`;
  const vethA = `${prefix}va${tag}`, vethB = `${prefix}vb${tag}`;
  const net = `10.${prefix === 'roam' ? 231 : 232}.${tag % 250}`;
  if (nsA) ip('netns', 'add', nsA);
  ip('netns', 'add', nsB);
  ip('link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB);
  if (nsA) ip('link', 'set', vethA, 'netns', nsA);
  ip('link', 'set', vethB, 'netns', nsB);
  const inA = (...a: string[]) => (nsA ? ip('-n', nsA, ...a) : ip(...a));
  inA('addr', 'add', `${net}.1/30`, 'dev', vethA);
  ip('-n', nsB, 'addr', 'add', `${net}.2/30`, 'dev', vethB);
  if (nsA) inA('link', 'set', 'lo', 'up');
  inA('link', 'set', vethA, 'up');
  ip('-n', nsB, 'link', 'set', 'lo', 'up');
  ip('-n', nsB, 'link', 'set', vethB, 'up');
  return {
    nsA, nsB, vethA, vethB, ipA: `${net}.1`, ipB: `${net}.2`,
    exec: (ns, argv) => (ns ? ['ip', ['netns', 'exec', ns, ...argv]] : [argv[0]!, argv.slice(1)]),
    remove() {
      // Deleting a namespace takes its veth end, and with it the pair.
      for (const ns of [nsA, nsB]) if (ns) spawnSync('ip', ['netns', 'del', ns]);
      if (!nsA) spawnSync('ip', ['link', 'del', vethA]); // gone already with nsB; never left behind
    },
  };
}
