// `npm install` step for the native-host addons: roam_shm (POSIX shm, for the DPU place) always,
// roam_native (MPI forwarding) when a system MPI (mpicc) is present and roam_ucx (engine/rdma) when
// UCX's headers are; otherwise says so and leaves the other paths working.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (spawnSync('mpicc', ['-show'], { stdio: 'ignore' }).status !== 0 && spawnSync('mpicc', ['--showme'], { stdio: 'ignore' }).status !== 0) {
  console.warn('roam native-host: no mpicc found; building POSIX shm only (roam mpirun --mpi native needs MPICH or Open MPI)');
}
if (spawnSync('sh', [`${here}/ucx-flags.sh`, '--has'], { encoding: 'utf8' }).stdout.trim() !== '1') {
  console.warn('roam native-host: UCX headers not found; skipping roam_ucx (engine/rdma needs Debian libucx-dev)');
}
const npmDir = dirname(process.env.npm_execpath ?? '');
const gyp = process.env.npm_config_node_gyp ?? `${npmDir}/../node_modules/node-gyp/bin/node-gyp.js`;
// Build against the local Node headers (no download) when they are installed beside node.
const nodedir = process.env.npm_config_nodedir ?? dirname(dirname(process.execPath));
const args = existsSync(`${nodedir}/include/node/node_api.h`) ? [`--nodedir=${nodedir}`] : [];
const r = spawnSync(process.execPath, [gyp, 'rebuild', ...args], { cwd: here, stdio: 'inherit' });
if (r.status !== 0) console.warn('roam native-host: addon build failed; the DPU place and roam mpirun --mpi native will be unavailable');
