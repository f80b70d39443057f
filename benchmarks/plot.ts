/**
 * SVG plots of benchmark results, rendered in Node by vega-lite → vega (no browser, no canvas: vega
 * measures text itself). Each bench calls one of these with its data; the SVG goes to
 * benchmarks/plots/NAME.svg and the function returns the Markdown line that shows it in a RESULTS file.
 *
 *   out.push(await plotLines('mpi-latency', { title, x: { title: 'bytes', log: true }, y: { title: 'µs', log: true }, series }));
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const DIR = fileURLToPath(new URL('./plots/', import.meta.url));
const WIDTH = 560, HEIGHT = 300;
/** The dashboard's place colours, so a plot and the live page read alike. */
const PALETTE = ['#2563eb', '#c2410c', '#7c3aed', '#047857', '#b45309', '#0e7490', '#be123c', '#4b5563'];

export interface Axis {
  title: string;
  log?: boolean;
  /** Fixed domain, e.g. [0, 1] for a share. */
  domain?: [number, number];
  format?: string;
}

/** A vertical marker with a label (a congestion, a shift). */
export interface Rule {
  x: number;
  label: string;
}

/** Writes `spec` as benchmarks/plots/NAME.svg; returns the Markdown image line (relative to benchmarks/). */
export async function render(name: string, title: string, spec: TopLevelSpec): Promise<string> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`plot name '${name}': lowercase letters, digits and dashes only`);
  // "Heading: details" → a title and a subtitle, so a long title is not cut at the plot's width.
  const cut = title.indexOf(': ');
  if (cut > 0 && (spec as { title?: unknown }).title === title) (spec as { title?: unknown }).title = { text: title.slice(0, cut), subtitle: title.slice(cut + 2), subtitleFontSize: 11, subtitleColor: '#444' };
  const vl = compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', config: { font: 'DejaVu Sans, sans-serif', range: { category: PALETTE }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelLimit: 360, labelFontSize: 11 }, title: { fontSize: 14, anchor: 'start' } }, ...spec } as TopLevelSpec);
  const view = new vega.View(vega.parse(vl.spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  mkdirSync(DIR, { recursive: true });
  writeFileSync(`${DIR}${name}.svg`, svg);
  return `![${title.replace(/[[\]]/g, '')}](plots/${name}.svg)`;
}

const scale = (a: Axis) => ({ ...(a.log ? { type: 'log' as const } : {}), ...(a.domain ? { domain: a.domain } : {}), zero: !a.log && !a.domain ? true : undefined });

/** Lines, one per series (points [x, y]), with optional vertical rules. */
export function plotLines(name: string, o: { title: string; x: Axis; y: Axis; series: Record<string, Array<[number, number]>>; rules?: Rule[]; points?: boolean }): Promise<string> {
  const values = Object.entries(o.series).flatMap(([series, pts]) => pts.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => ({ series, x, y })));
  const layers: unknown[] = [{
    data: { values },
    mark: { type: 'line', point: o.points ?? true, strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.x.title, scale: scale(o.x), ...(o.x.format ? { axis: { format: o.x.format } } : {}) },
      y: { field: 'y', type: 'quantitative', title: o.y.title, scale: scale(o.y), ...(o.y.format ? { axis: { format: o.y.format } } : {}) },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' } },
    },
  }];
  if (o.rules?.length) {
    layers.push({ data: { values: o.rules }, mark: { type: 'rule', strokeDash: [5, 3], color: '#111827' }, encoding: { x: { field: 'x', type: 'quantitative' } } });
    // Labels one line apart, so two rules at nearly the same x stay readable.
    const labels = o.rules.map((r, i) => ({ ...r, px: 14 + 15 * i }));
    layers.push({ data: { values: labels }, mark: { type: 'text', align: 'left', dx: 4, baseline: 'bottom', fontSize: 11, color: '#111827' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'px', type: 'quantitative', scale: null }, text: { field: 'label' } } });
  }
  return render(name, o.title, { title: o.title, width: WIDTH, height: HEIGHT, layer: layers } as TopLevelSpec);
}

/** Bars, one per label (grouped by `group` when given), with an optional horizontal goal line. */
export function plotBars(name: string, o: { title: string; x: string; y: Axis; bars: Array<{ label: string; value: number; group?: string }>; goal?: { y: number; label: string } }): Promise<string> {
  const grouped = o.bars.some((b) => b.group !== undefined);
  const layers: unknown[] = [{
    data: { values: o.bars },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'label', type: 'nominal', title: o.x, sort: null, axis: { labelAngle: 0 }, scale: { paddingInner: 0.4, paddingOuter: 0.2 } },
      y: { field: 'value', type: 'quantitative', title: o.y.title, scale: scale(o.y) },
      ...(grouped ? { xOffset: { field: 'group' }, color: { field: 'group', type: 'nominal', title: null, legend: { orient: 'bottom' } } } : { color: { value: PALETTE[0] } }),
    },
  }, {
    data: { values: o.bars },
    mark: { type: 'text', dy: -6, fontSize: 11 },
    encoding: { x: { field: 'label', type: 'nominal', sort: null }, ...(grouped ? { xOffset: { field: 'group' } } : {}), y: { field: 'value', type: 'quantitative' }, text: { field: 'value', type: 'quantitative', format: '.2f' } },
  }];
  if (o.goal) {
    layers.push({ data: { values: [o.goal] }, mark: { type: 'rule', strokeDash: [5, 3], color: '#b91c1c' }, encoding: { y: { field: 'y', type: 'quantitative' } } });
    layers.push({ data: { values: [o.goal] }, mark: { type: 'text', align: 'left', x: WIDTH + 4, fontSize: 11, color: '#b91c1c' }, encoding: { y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } });
  }
  return render(name, o.title, { title: o.title, width: WIDTH, height: HEIGHT, layer: layers } as TopLevelSpec);
}

/** A distribution per group: a histogram of `values` (binned on x), groups side by side in colour. */
export function plotHistogram(name: string, o: { title: string; x: Axis; groups: Record<string, number[]>; maxBins?: number; goal?: Rule }): Promise<string> {
  const values = Object.entries(o.groups).flatMap(([group, xs]) => xs.filter(Number.isFinite).map((v) => ({ group, v })));
  const layers: unknown[] = [{
    data: { values },
    mark: { type: 'bar', opacity: 0.75, binSpacing: 1 },
    encoding: {
      x: { field: 'v', type: 'quantitative', bin: { maxbins: o.maxBins ?? 30 }, title: o.x.title },
      y: { aggregate: 'count', type: 'quantitative', title: 'runs', stack: null, axis: { tickMinStep: 1 } },
      color: { field: 'group', type: 'nominal', title: null, legend: { orient: 'bottom' } },
    },
  }];
  if (o.goal) {
    layers.push({ data: { values: [o.goal] }, mark: { type: 'rule', strokeDash: [5, 3], color: '#b91c1c' }, encoding: { x: { field: 'x', type: 'quantitative' } } });
    layers.push({ data: { values: [o.goal] }, mark: { type: 'text', align: 'left', dx: 4, y: 10, fontSize: 11, color: '#b91c1c' }, encoding: { x: { field: 'x', type: 'quantitative' }, text: { field: 'label' } } });
  }
  return render(name, o.title, { title: o.title, width: WIDTH, height: HEIGHT, layer: layers } as TopLevelSpec);
}

/** Rows of [series, x, y] → the `series` argument of plotLines. */
export function bySeries(rows: Array<[string, number, number]>): Record<string, Array<[number, number]>> {
  const out: Record<string, Array<[number, number]>> = {};
  for (const [name, x, y] of rows) (out[name] ??= []).push([x, y]);
  return out;
}

/** Share of messages at `place` per `binMs` bin from `fromMs` to `toMs` around `t0` (ms), for a shift plot. */
export function shareTimeline(samples: ReadonlyArray<{ sent: number; place: number }>, t0: number, place: number, o = { binMs: 10, fromMs: -200, toMs: 600 }): Array<[number, number]> {
  const bins = Math.ceil((o.toMs - o.fromMs) / o.binMs);
  const n = new Float64Array(bins), k = new Float64Array(bins);
  for (const s of samples) {
    const b = Math.floor((s.sent - t0 - o.fromMs) / o.binMs);
    if (b < 0 || b >= bins) continue;
    n[b]!++;
    if (s.place === place) k[b]!++;
  }
  const out: Array<[number, number]> = [];
  for (let b = 0; b < bins; b++) if (n[b]! > 0) out.push([o.fromMs + b * o.binMs, (100 * k[b]!) / n[b]!]);
  return out;
}
