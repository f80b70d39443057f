// Runs the built bundle's handler in-process with `roam run` (verified, metered, as the engine runs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

test('echo replies with its input', () => {
  const out = execFileSync('roam', ['run', 'build/{{name}}.wasm', '--handler', 'echo', '--input', 'hi'], { encoding: 'utf8' });
  assert.equal(out, 'echo: hi\n');
});
