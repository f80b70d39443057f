// Runs the built handlers in-process with `roam run`: regions live for the whole run, so count counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const run = (...args) => execFileSync('roam', ['run', 'build/{{name}}.wasm', ...args], { encoding: 'utf8' });

test('echo replies with its input', () => {
  assert.equal(run('--handler', 'echo', '--input', 'hi'), 'echo: hi\n');
});

test('count counts per slot in the counters region', () => {
  assert.equal(run('--call', 'count=hex:07', '--call', 'count=hex:07', '--call', 'count=hex:03'), '1\n2\n1\n');
});
