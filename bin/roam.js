#!/usr/bin/env node
// The roam CLI. Sources are TypeScript run through tsx (no build step to forget). What needs no engine
// code (top-level help, the version, an unknown command) is answered first, in plain JS, before tsx
// loads; the AssemblyScript compiler runs in a worker thread that tsx's hooks do not reach.
import { answer } from '../engine/cli/front.mjs';

const argv = process.argv.slice(2);
const early = answer(argv);
if (early !== null) process.exitCode = early;
else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../engine/cli/main.ts');
  process.exitCode = await main(argv);
}
