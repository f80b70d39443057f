// `npm run bench`: every benchmark, one after another, printing markdown for RESULTS.md.
import { readdirSync } from 'node:fs';

const only = process.argv[2];
const files = readdirSync(import.meta.dirname).filter((f) => f.endsWith('.ts') && !['run.ts', 'harness.ts'].includes(f) && (!only || f.startsWith(only)));
console.log(`# roam benchmarks — ${new Date().toISOString()}, node ${process.version}\n`);
for (const f of files) {
  const mod = await import(`./${f}`);
  if (typeof mod.run === 'function') console.log((await mod.run()) + '\n');
}
