// Runs the program on 4 ranks with roam's embedded MPI (worker threads over SharedArrayBuffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

test('the token collects every rank on its way round', () => {
  const out = execFileSync('roam', ['mpirun', '-np', '4', '--timeout', '60', 'build/{{name}}.wasm'], { encoding: 'utf8' });
  assert.equal(out, 'ring: 4 ranks, token 6\n'); // 1 + 2 + 3
});
