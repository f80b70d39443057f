// roam's live dashboard: reads /ui/stream (Server-Sent Events over fetch, so the token travels in the
// Authorization header, never in a URL), keeps 5 minutes of series and draws them with uPlot.
// Everything from the server is written with textContent: names are tenants' input.

const KEEP_S = 300;
const COLORS = { host: '#2563eb', inline: '#7c3aed', dpu: '#c2410c', client: '#047857' };
const color = (place) => COLORS[place] ?? '#6b7280';
const TOKEN_KEY = 'roam.token';
const $ = (id) => document.getElementById(id);

const state = {
  times: [],
  /** place → { rate: [], p50: [], p99: [] } aligned with times */
  places: new Map(),
  /** handler key → { name, shares: Map(place → []) } */
  handlers: new Map(),
  shifts: [],
  charts: { rate: null, lat: null, steering: new Map() },
  ticks: 0,
  abort: null,
};
// Read-only hook for tests and the curious: what the charts hold.
window.roamDashboard = {
  get ticks() { return state.ticks; },
  get times() { return state.times.slice(); },
  series(kind, place) { return (state.places.get(place)?.[kind] ?? []).slice(); },
  steering(name) {
    for (const h of state.handlers.values()) if (h.name === name) return Object.fromEntries([...h.shares].map(([p, v]) => [p, v.slice()]));
    return null;
  },
  get shifts() { return state.shifts.slice(); },
};

// ---- connection ---------------------------------------------------------------------------------

function setState(s, text) {
  document.body.dataset.state = s;
  $('status-text').textContent = text;
}

async function connect() {
  state.abort?.abort();
  const abort = (state.abort = new AbortController());
  const token = sessionStorage.getItem(TOKEN_KEY);
  setState('connecting', 'connecting…');
  let res;
  try {
    res = await fetch('/ui/stream', { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: 'no-store', signal: abort.signal });
  } catch {
    if (!abort.signal.aborted) retry('server unreachable');
    return;
  }
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    return showLogin(token ? 'That token was refused.' : '');
  }
  if (!res.ok) return retry(`server answered ${res.status}`);
  $('login').hidden = true;
  $('board').hidden = false;
  $('signout').hidden = !token;
  try {
    await readEvents(res.body, abort.signal);
  } catch {
    if (abort.signal.aborted) return;
  }
  if (!abort.signal.aborted) retry('stream ended');
}

function retry(why) {
  setState('error', `${why}; retrying…`);
  setTimeout(connect, 2000);
}

async function readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(event, JSON.parse(data));
    }
  }
}

function showLogin(message) {
  setState('locked', 'token needed');
  $('board').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('token').focus();
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  connect();
});
$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  state.abort?.abort();
  showLogin('');
});

// ---- data ---------------------------------------------------------------------------------------

function onEvent(event, msg) {
  if (event === 'hello') {
    state.times = [];
    state.places.clear();
    state.handlers.clear();
    state.shifts = msg.shifts;
    $('scope').textContent = msg.tenant === null ? 'admin: all tenants' : `tenant ${msg.tenant}`;
    // A tenant sees no machine-wide place totals, only its own connections' client place: the note says so.
    $('places-note').hidden = msg.tenant === null;
    for (const t of msg.history) append(t);
    renderShifts();
    renderBundles(msg.bundles);
  } else if (event === 'tick') {
    append(msg);
    if (msg.shifts.length) {
      state.shifts.push(...msg.shifts);
      renderShifts();
    }
    renderTables(msg);
    state.ticks++;
    setState('live', `live · ${new Date(msg.t).toLocaleTimeString()}`);
  }
  drawCharts();
}

/** Adds one tick to the series; every series stays aligned with `times` (null where absent). */
function append(t) {
  const n = state.times.length;
  state.times.push(t.t / 1000);
  for (const p of t.places) {
    let s = state.places.get(p.name);
    if (!s) state.places.set(p.name, (s = { rate: Array(n).fill(null), p50: Array(n).fill(null), p99: Array(n).fill(null) }));
    s.rate.push(p.rate);
    s.p50.push(p.p50);
    s.p99.push(p.p99);
  }
  for (const h of t.handlers) {
    let s = state.handlers.get(h.key);
    if (!s) state.handlers.set(h.key, (s = { name: h.name, shares: new Map() }));
    for (const place of Object.keys(h.shares ?? {})) if (!s.shares.has(place)) s.shares.set(place, Array(n).fill(null));
    for (const [place, arr] of s.shares) arr.push(h.shares ? (h.shares[place] ?? 0) * 100 : null);
  }
  // Series not in this tick get a gap; everything older than KEEP_S goes.
  for (const s of state.places.values()) for (const a of [s.rate, s.p50, s.p99]) if (a.length < n + 1) a.push(null);
  for (const h of state.handlers.values()) for (const a of h.shares.values()) if (a.length < n + 1) a.push(null);
  const drop = state.times.findIndex((x) => x >= t.t / 1000 - KEEP_S);
  if (drop > 0) {
    state.times.splice(0, drop);
    for (const s of state.places.values()) for (const a of [s.rate, s.p50, s.p99]) a.splice(0, drop);
    for (const h of state.handlers.values()) for (const a of h.shares.values()) a.splice(0, drop);
  }
}

// ---- charts -------------------------------------------------------------------------------------

function width(el) {
  return Math.max(320, el.clientWidth || el.parentElement.clientWidth || 600);
}

function placeChart(kind) {
  const names = [...state.places.keys()];
  const series = [{}];
  const data = [state.times];
  for (const name of names) {
    const s = state.places.get(name);
    if (kind === 'lat') {
      series.push({ label: `${name} p99`, stroke: color(name), width: 2, spanGaps: false });
      data.push(s.p99);
      series.push({ label: `${name} p50`, stroke: color(name), width: 1, dash: [4, 4] });
      data.push(s.p50);
    } else {
      series.push({ label: name, stroke: color(name), width: 2, fill: color(name) + '18' });
      data.push(s.rate);
    }
  }
  return { series, data, log: kind === 'lat' };
}

function drawPlaces() {
  for (const kind of ['rate', 'lat']) {
    const el = $(`chart-${kind}`);
    const { series, data, log } = placeChart(kind);
    let u = state.charts[kind];
    if (u && u.series.length !== series.length) {
      u.destroy();
      u = null;
    }
    if (!u) {
      u = new uPlot({
        width: width(el), height: 220, series,
        scales: { x: { time: true }, y: log ? { distr: 3, log: 10, range: (_u, min, max) => [Math.min(0.01, min ?? 0.01), Math.max(1, max ?? 1)] } : { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] } },
        // A log axis gets a tick per 1–9 × 10^n: label the powers of ten only.
        axes: [{ space: 80 }, { size: 64, values: (_u, vals) => vals.map((v) => (!log ? fmtRate(v) : Math.abs(Math.log10(v) % 1) < 1e-9 ? fmtMs(v) : '')) }],
        legend: { live: false },
      }, data, el);
      state.charts[kind] = u;
    } else u.setData(data);
  }
}

/** uPlot plugin: marks every shift of this handler — the congestion→moved span shaded, a line and its time. */
function shiftMarks(key) {
  return {
    hooks: {
      draw(u) {
        const ctx = u.ctx;
        const [x0, x1] = [u.scales.x.min, u.scales.x.max];
        // Labels of shifts close together (a handler bouncing under a 95 % hold) would overprint: a label
        // goes on only where the last one ended; every shift keeps its line and its row in the list.
        let nextFree = -Infinity;
        for (const s of state.shifts) {
          if (s.handlerKey !== key || s.movedAt / 1000 < x0 || s.onset / 1000 > x1) continue;
          const a = u.valToPos(s.onset / 1000, 'x', true), b = u.valToPos(s.movedAt / 1000, 'x', true);
          const top = u.bbox.top, h = u.bbox.height;
          ctx.save();
          ctx.fillStyle = 'rgba(194, 65, 12, 0.12)';
          ctx.fillRect(a, top, Math.max(2, b - a), h);
          ctx.strokeStyle = color(s.to);
          ctx.setLineDash([5, 3]);
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(b, top);
          ctx.lineTo(b, top + h);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.fillStyle = '#1b1f24';
          const label = `${s.from}→${s.to} ${s.ms.toFixed(1)} ms`;
          if (b >= nextFree) {
            ctx.fillText(label, b + 4 * devicePixelRatio, top + 14 * devicePixelRatio);
            nextFree = b + ctx.measureText(label).width + 12 * devicePixelRatio;
          }
          ctx.restore();
        }
      },
    },
  };
}

function drawSteering() {
  const box = $('steering-charts');
  // The 8 busiest handlers get a chart each (a server may hold hundreds).
  const handlers = [...state.handlers.entries()].slice(0, 8);
  for (const [key, h] of handlers) {
    const places = [...h.shares.keys()].sort();
    const data = [state.times, ...places.map((p) => h.shares.get(p))];
    let entry = state.charts.steering.get(key);
    if (entry && entry.places.join() !== places.join()) {
      entry.u.destroy();
      entry.fig.remove();
      entry = null;
    }
    if (!entry) {
      const fig = document.createElement('figure');
      const cap = document.createElement('figcaption');
      cap.textContent = `${h.name}: share of messages per place (%)`;
      const el = document.createElement('div');
      el.className = 'chart';
      el.setAttribute('role', 'img');
      el.setAttribute('aria-label', `${h.name}: share of messages per place over time, with shifts marked`);
      el.dataset.handler = h.name;
      fig.append(cap, el);
      box.append(fig);
      const u = new uPlot({
        width: width(box), height: 180,
        series: [{}, ...places.map((p) => ({ label: p, stroke: color(p), width: 2, fill: color(p) + '14' }))],
        scales: { x: { time: true }, y: { range: [0, 100] } },
        axes: [{ space: 80 }, { size: 50, values: (_u, v) => v.map((x) => `${x}%`) }],
        legend: { live: false },
        plugins: [shiftMarks(key)],
      }, data, el);
      entry = { u, fig, places };
      state.charts.steering.set(key, entry);
    } else entry.u.setData(data);
  }
}

function drawCharts() {
  if (typeof uPlot === 'undefined' || $('board').hidden) return;
  if (state.places.size) drawPlaces();
  drawSteering();
}

// ---- tables -------------------------------------------------------------------------------------

const fmtRate = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k` : `${Math.round(v)}`);
const fmtMs = (v) => (v === null || v === undefined ? '–' : v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
const fmtPct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(0)} %`);
const fmtBytes = (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

function fill(tableId, rows, empty, columns) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...(rows.length ? rows : [el('tr', { class: 'empty' }, el('td', { colSpan: columns, textContent: empty }))]));
}

function bar(value, mark, label) {
  const b = el('div', { class: 'bar' });
  if (value !== null && value !== undefined) b.append(el('div', { class: 'fill', style: `width:${Math.min(100, value * 100)}%` }));
  if (mark !== null && mark !== undefined) b.append(el('div', { class: 'mark', style: `left:${Math.min(100, mark * 100)}%`, title: 'share its weight or quota gives' }));
  b.append(el('span', { class: 'label', textContent: label }));
  return b;
}

/** The client place runs in the clients' processes: its row says how many are reporting. */
function placeLabel(p) {
  if (p.name !== 'client') return `${p.name}${p.available ? '' : ' (unavailable)'}`;
  return p.clients ? `client (${p.clients} connection${p.clients === 1 ? '' : 's'})` : 'client (none reporting)';
}

function renderTables(t) {
  fill('places-table', t.places.map((p) =>
    el('tr', { 'data-place': p.name },
      el('td', {}, el('span', { class: 'swatch', style: `background:${color(p.name)}` }), placeLabel(p)),
      el('td', { class: 'num', textContent: fmtRate(p.rate) }),
      el('td', { class: 'num', textContent: fmtMs(p.p50) }),
      el('td', { class: 'num', textContent: fmtMs(p.p99) }),
      el('td', { class: 'num', textContent: String(p.queue) }))), 'no places on this server (functions only), or none of this tenant\'s clients has run a message at the client place', 5);
  if (t.bundles) renderBundles(t.bundles);
  fill('tenants-table', t.tenants.map((x) =>
    el('tr', { 'data-tenant': x.name },
      el('td', { textContent: x.name }),
      el('td', { class: 'num', textContent: String(x.weight) }),
      el('td', {}, bar(x.share, x.fair, x.share === null ? 'idle' : `${fmtPct(x.share)} of ${fmtPct(x.fair)}`)),
      el('td', { class: 'num', textContent: String(x.queued) }),
      el('td', { class: 'num', textContent: String(x.completed) }),
      el('td', { class: 'num', textContent: String(x.rejected) }))), 'no tenant has run anything', 6);
  fill('gpu-table', t.gpu.map((g) =>
    el('tr', { 'data-gpu': g.id },
      el('td', { textContent: g.id }),
      el('td', {}, bar(g.achievedShare, g.share, `${fmtPct(g.achievedShare)} of ${fmtPct(g.share)}`)),
      el('td', { class: 'num', textContent: `${fmtBytes(g.memoryBytes)} / ${g.memoryCapBytes ? fmtBytes(g.memoryCapBytes) : '∞'}` }))), 'no GPU function has run', 3);
  fill('chains-table', t.chains.map((c) => {
    const total = c.hops.reduce((a, h) => a + (h.ms ?? 0), 0);
    const hops = el('div', { class: 'hops' }, ...c.hops.map((h) => el('span', { class: 'hop', title: `${h.fn}: ${fmtMs(h.ms)}`, style: `flex:${Math.max(0.05, h.ms ?? 0.05)}`, textContent: `${h.fn} ${fmtMs(h.ms)}` })));
    return el('tr', { 'data-chain': c.route }, el('td', { textContent: c.route }), el('td', { textContent: c.tenant }), el('td', {}, hops), el('td', { class: 'num', textContent: fmtMs(total) }));
  }), 'no chains', 4);
}

/** The bundle table: sent when it changes (a tick's `bundles` is null otherwise) and in `hello`. */
function renderBundles(bundles) {
  fill('bundles-table', bundles.map((b) =>
    el('tr', { 'data-bundle': b.name },
      el('td', {}, el('strong', { textContent: b.name })),
      el('td', { textContent: b.version }),
      el('td', {}, el('code', { textContent: b.hash.slice(0, 12), title: b.hash })),
      el('td', { textContent: b.tenant }),
      el('td', {}, ...[...b.handlers.map((h) => `handler ${h}`), ...b.functions.map((f) => `fn ${f}`)].map((x) => el('span', { class: 'pill', textContent: x }))),
      el('td', { class: 'where', textContent: b.where }),
      el('td', { textContent: b.deployedAt ? new Date(b.deployedAt).toLocaleTimeString() : '–' }))), 'nothing deployed', 7);
}

function renderShifts() {
  const list = $('shifts');
  list.replaceChildren(...state.shifts.slice(-12).reverse().map((s) =>
    el('li', { 'data-shift': s.handler },
      `${new Date(s.movedAt).toLocaleTimeString()} `, el('strong', { textContent: s.handler }), ` ${s.from} → ${s.to}: `,
      el('span', { class: 'ms', textContent: `${s.ms.toFixed(1)} ms` }), ' from congestion to ≥ 80 % moved')));
}

window.addEventListener('resize', () => {
  for (const u of [state.charts.rate, state.charts.lat]) if (u) u.setSize({ width: width(u.root.parentElement), height: u.height });
  for (const { u } of state.charts.steering.values()) u.setSize({ width: width($('steering-charts')), height: u.height });
});

connect();
