/**
 * npm run fuzz [-- wire|bundles|http ...] [--seed N] [--inputs N] [--replay FILE]
 *
 * The long run: every fuzzer (1,000,000 wire frames; 5,000 mutations of the functions under functions/ through
 * admission and 500 through PUT /v1/bundles; 20,000 HTTP requests). Prints one report line per fuzzer; a crash, hang or wrong
 * answer fails the run (exit 1) and its input is in fuzz/failures/, replayable with the command printed.
 */
import { parseArgs } from 'node:util';
import { readReplay, type Report } from './lib.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: 'string' }, inputs: { type: 'string' }, replay: { type: 'string' }, 'no-components': { type: 'boolean', default: false } },
});
const seed = values.seed !== undefined ? Number(values.seed) : (Date.now() & 0x7fffffff);
const log = (line: string) => void process.stdout.write(line + '\n');
const reports: Report[] = [];

if (values.replay) {
  const rec = readReplay(values.replay);
  log(`replaying ${values.replay} (${rec.fuzzer}, seed ${rec.seed}, ${rec.kind}: ${rec.message})`);
  if (rec.fuzzer === 'wire') reports.push(await (await import('./wire.ts')).replayWire(rec));
  else if (rec.fuzzer === 'bundles') reports.push(await (await import('./bundles.ts')).replayBundle(rec));
  else if (rec.fuzzer === 'http') reports.push(await (await import('./http.ts')).replayHttp(rec));
  else throw new Error(`unknown fuzzer '${rec.fuzzer}' in ${values.replay}`);
} else {
  const which = positionals.length ? positionals : ['wire', 'bundles', 'http'];
  const n = (d: number) => (values.inputs ? Number(values.inputs) : d);
  for (const f of which) {
    if (f === 'wire') reports.push(await (await import('./wire.ts')).fuzzWire({ seed, inputs: n(1_000_000), log }));
    else if (f === 'bundles') reports.push(await (await import('./bundles.ts')).fuzzBundles({ seed, inputs: n(5_000), components: !values['no-components'], log }));
    else if (f === 'http') reports.push(await (await import('./http.ts')).fuzzHttp({ seed, inputs: n(20_000), log }));
    else throw new Error(`unknown fuzzer '${f}' (wire, bundles, http)`);
    log(reports.at(-1)!.line());
  }
}
for (const r of reports) {
  if (values.replay) log(r.line());
  for (const f of r.failures) log(`  ${f.kind}: ${f.message}${f.file ? `\n    replay: npm run fuzz -- --replay ${f.file}` : ''}`);
}
process.exit(reports.every((r) => r.ok) ? 0 : 1);
