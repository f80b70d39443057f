// Worker entry for one embedded rank: sources are TypeScript, so register tsx in this thread first.
import { register } from 'tsx/esm/api';
// node:wasi's one-line "experimental" warning per rank is noise in a job's stderr; keep others.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (!/WASI/.test(w.message)) process.stderr.write(`${w.name}: ${w.message}\n`);
});
register();
await import('./rank-worker.ts');
