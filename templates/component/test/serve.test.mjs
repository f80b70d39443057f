// End to end, as in production: `roam serve` on a free port, `roam deploy` the bundle, call /fn/{{name}}.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';

const server = spawn('roam', ['serve', '--no-auth', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
after(() => server.kill());
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (c) => {
    out += c;
    const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
    if (m) resolve(m[1]);
  });
  server.on('error', reject);
  server.on('exit', (code) => reject(new Error(`roam serve exited with ${code}`)));
});

test('deployed, it greets the name in the path', async () => {
  execFileSync('roam', ['deploy', 'build/{{name}}.wasm', '--server', url], { stdio: ['ignore', 'ignore', 'inherit'] });
  const r = await fetch(`${url}/fn/{{name}}/ada`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /"greeting":"hello, ada"/);
});
