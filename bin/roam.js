#!/usr/bin/env node
// The roam CLI. Sources are TypeScript run through tsx (no build step to forget).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../engine/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
