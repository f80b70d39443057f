// Calls the built functions in-process with `roam run` (the engine's own path, QuickJS inside).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const run = (...args) => execFileSync('roam', ['run', 'build/{{name}}.wasm', ...args], { encoding: 'utf8' });

test('hello greets the name in the path', () => {
  const out = run('--function', 'hello', '--method', 'POST', '--path', '/ada');
  assert.match(out, /^200\n/);
  assert.match(out, /"greeting":"hello, ada"/);
});

test('shout upper-cases the body', () => {
  assert.match(run('--function', 'shout', '--method', 'POST', '--body', 'hi there'), /HI THERE/);
});
