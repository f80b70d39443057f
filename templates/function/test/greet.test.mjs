// Calls the built function in-process with `roam run` (an HTTP-like request, the engine's own path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

test('greets the name in the path', () => {
  const out = execFileSync('roam', ['run', 'build/{{name}}.wasm', '--function', '{{name}}', '--path', '/ada'], { encoding: 'utf8' });
  assert.match(out, /^200\n/);
  assert.match(out, /\{"greeting":"hello, ada"\}/);
});
