// @ts-check
// The dashboard page: one EventSource to api/live, redrawn as messages arrive. No framework and
// no build step; the server bounds what arrives (at most a few messages a second, 200 list rows,
// 2,000 tree nodes), so plain string rendering stays fast with any number of jobs. Its types are
// the server's (feed-message.ts), checked by `npm run typecheck`; the status filter's options
// come from the server too (the core's one list of statuses), rendered into the page.

/** @typedef {import('./feed-message.js').FeedMessage} FeedMessage */
/** @typedef {import('./feed-message.js').Overview} Overview */
/** @typedef {import('./feed-message.js').JobDetail} JobDetail */
/** @typedef {import('./feed-message.js').SchedulesAnswer} SchedulesAnswer */
/** @typedef {import('./feed-message.js').ListAnswer} ListAnswer */
/** @typedef {NonNullable<FeedMessage['list']>} JobList */
/** @typedef {NonNullable<FeedMessage['points']>[number]} SeriesPoint */
/** @typedef {NonNullable<Overview['actors']>['workers'][number]} WorkerTile */
/** @typedef {JobDetail['events'][number]} JobEvent */
/** @typedef {NonNullable<JobDetail['tree']>} TreeNode */
/** @typedef {{ label: string, color: string, values: (number | null)[] }} Line */

const maxPoints = 300;
/**
 * An element the page is known to have.
 * @param {string} id
 * @returns {HTMLElement}
 */
const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
};
/** @type {{ points: SeriesPoint[], source: EventSource | undefined, jobId: string | undefined, filter: { status: string, name: string, roots: string }, names: string, allCursor: string | undefined, allQuery: string }} */
const state = {
  points: [],
  source: undefined,
  jobId: undefined,
  filter: { status: '', name: '', roots: '' },
  names: '',
  allCursor: undefined,
  allQuery: '',
};

/** @param {unknown} value */
const esc = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** @param {number | null | undefined} n */
const fmt = (n) => (n === null || n === undefined ? '–' : n >= 1000 ? `${(n / 1000).toFixed(n >= 10_000 ? 0 : 1)}k` : `${Math.round(n * 10) / 10}`);
/** @param {number} at */
const ago = (at) => {
  const s = Math.max(0, Math.round((Date.now() - at) / 1000));
  return s < 60 ? `${s}s ago` : `${Math.floor(s / 60)}m ago`;
};

function connect() {
  state.source?.close();
  // Every connection starts with the full history.
  state.points = [];
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state.filter)) if (value) params.set(key, value);
  if (state.jobId) params.set('job', state.jobId);
  const source = new EventSource(`api/live?${params}`);
  state.source = source;
  source.onopen = () => setLive('live', 'live');
  source.onerror = () => setLive('reconnecting', '');
  source.onmessage = (message) => apply(/** @type {FeedMessage} */ (JSON.parse(message.data)));
}

/**
 * @param {string} text
 * @param {string} cls
 */
function setLive(text, cls) {
  $('live').textContent = text;
  $('live').className = `badge ${cls}`;
}

/** @param {FeedMessage} message */
function apply(message) {
  if (message.overview) renderOverview(message.overview);
  if (message.points) {
    state.points.push(...message.points);
    if (state.points.length > maxPoints) state.points.splice(0, state.points.length - maxPoints);
    renderCharts();
  }
  if (message.list) renderList(message.list);
  if (message.job !== undefined) renderJob(message.job);
}

/** @param {Overview} o */
function renderOverview(o) {
  const s = o.stats;
  // A tenant sees its own jobs, counted among the recent ones; the node's charts are not its.
  document.body.dataset['scope'] = o.scope;
  $('node').textContent = `${o.nodeId}${o.durable ? ' · durable store' : ' · memory store'}`;
  $('health').textContent = s.health;
  $('health').className = `badge ${s.health}`;
  $('c-queued').textContent = fmt(s.queued + s.delayed);
  $('c-running').textContent = fmt(s.running);
  $('c-waiting').textContent = fmt(s.waitingChildren);
  $('c-completed').textContent = String(s.completed);
  $('c-failed').textContent = String(s.failed);
  $('c-rate').textContent = fmt(s.rates.completed);
  $('c-restarts').textContent = String(s.restarts);
  const a = o.actors;
  if (a) {
    const sup = a.supervisor;
    $('supervisor').textContent =
      `supervisor ${sup.state} · ${sup.recentRestarts}/${sup.intensity.maxRestarts} restarts in ${sup.intensity.withinMs / 1000}s`;
    $('supervisor').className = `badge ${sup.state}`;
    const busy = s.workers - s.idleWorkers;
    $('actors-summary').textContent =
      `dispatcher ${a.dispatcher.state} · ${busy}/${s.workers} workers busy · ${s.actors} live actors · ${s.waitingParents} waiting parents`;
    const more = a.workersTotal - a.workers.length;
    $('workers').innerHTML = a.workers.map(workerTile).join('') + (more > 0 ? `<div class="worker muted">+${more} more idle workers</div>` : '');
  }
  const names = o.jobNames.join(',');
  if (names !== state.names) {
    state.names = names;
    fillSelect(field('name'), o.jobNames, state.filter.name);
  }
  $('jobs-summary').dataset['size'] = String(o.recent.size);
  $('jobs-summary').dataset['sampling'] =
    o.recent.skipped > 0 ? ` · sampled past ${fmt(o.recent.admitPerSecond)} new jobs/s (failures always kept)` : '';
}

/** @param {WorkerTile} w */
function workerTile(w) {
  const job = w.job
    ? `<a href="#/job/${esc(w.job.id)}">${esc(w.job.name)}</a> <span class="muted">${esc(w.job.id.slice(0, 8))}</span>`
    : `<span class="muted">${w.hidden ? 'another tenant’s job' : 'idle'}</span>`;
  const gen = w.generation > 0 ? ` <span class="s-failed" title="restarted">↻${w.generation}</span>` : '';
  return `<div class="worker ${w.state}" data-testid="worker" data-state="${w.state}"><b>${esc(w.id)}</b>${gen} · ${w.state}<br>${job}<br><span class="muted">${w.jobsRun} jobs run</span></div>`;
}

/**
 * A form control of the filters.
 * @param {string} name
 * @returns {HTMLSelectElement}
 */
function field(name) {
  const element = document.querySelector(`[name=${name}]`);
  if (!(element instanceof HTMLSelectElement)) throw new Error(`the page has no select ${name}`);
  return element;
}

/**
 * @param {HTMLSelectElement} select
 * @param {readonly string[]} values
 * @param {string} current
 */
function fillSelect(select, values, current) {
  select.innerHTML = `<option value="">any</option>${values.map((v) => `<option${v === current ? ' selected' : ''}>${esc(v)}</option>`).join('')}`;
}

/** @param {HTMLElement} element */
const svgOf = (element) => /** @type {SVGElement} */ (/** @type {unknown} */ (element));

function renderCharts() {
  const p = state.points;
  chart(svgOf($('chart-depth')), [
    { label: 'queued', color: 'var(--queued)', values: p.map((x) => x.queued) },
    { label: 'running', color: 'var(--running)', values: p.map((x) => x.running) },
    { label: 'waiting', color: 'var(--waitingChildren)', values: p.map((x) => x.waitingChildren) },
  ]);
  chart(svgOf($('chart-rate')), [
    { label: 'completed/s', color: 'var(--completed)', values: p.map((x) => x.completed) },
    { label: 'submitted/s', color: '#7cc4ff', values: p.map((x) => x.submitted) },
    { label: 'failed/s', color: 'var(--failed)', values: p.map((x) => x.failed) },
  ]);
  chart(svgOf($('chart-latency')), [
    { label: 'p50', color: 'var(--completed)', values: p.map((x) => x.p50) },
    { label: 'p95', color: 'var(--waitingChildren)', values: p.map((x) => x.p95) },
  ]);
}

/**
 * A line chart in a 400×120 viewBox; the legend with the last values and the scale goes in the caption.
 * @param {SVGElement} svg
 * @param {Line[]} lines
 */
function chart(svg, lines) {
  const W = 400,
    H = 120,
    top = 6;
  let max = 0;
  for (const line of lines) for (const v of line.values) if (v !== null && v > max) max = v;
  const scale = niceCeil(max);
  // The x axis grows with the history up to five minutes, so a fresh page is not one sliver.
  const count = lines[0]?.values.length ?? 0;
  const n = Math.min(maxPoints, Math.max(60, count));
  const offset = n - count;
  let out = [0.25, 0.5, 0.75].map((f) => `<line class="grid" x1="0" x2="${W}" y1="${top + (H - top) * f}" y2="${top + (H - top) * f}"/>`).join('');
  for (const line of lines) {
    let d = '';
    let pen = false;
    line.values.forEach((v, i) => {
      if (v === null) return void (pen = false);
      const x = ((offset + i) / (n - 1)) * W;
      const y = H - (v / scale) * (H - top);
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
      pen = true;
    });
    out += `<path class="series" stroke="${line.color}" d="${d}"/>`;
  }
  svg.innerHTML = out;
  const caption = /** @type {HTMLElement} */ (svg.previousElementSibling);
  const title = caption.dataset['title'] ?? caption.textContent ?? '';
  caption.dataset['title'] = title;
  const legend = lines.map((l) => `<span style="color:${l.color}">${l.label} ${fmt(l.values.at(-1))}</span>`).join('');
  caption.innerHTML = `<span>${esc(title)} <span class="muted">≤ ${fmt(scale)}, last ${n >= 120 ? `${Math.round(n / 60)} min` : `${n} s`}</span></span><span class="legend">${legend}</span>`;
}

/** @param {number} v */
function niceCeil(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** @param {JobList} list */
function renderList({ jobs, matched }) {
  const summary = $('jobs-summary');
  summary.textContent = `${matched} match in the last ${summary.dataset['size'] ?? ''} seen${matched > jobs.length ? `, newest ${jobs.length} shown` : ''}${summary.dataset['sampling'] ?? ''}`;
  $('jobs').innerHTML = jobs
    .map(
      (j) =>
        `<tr data-testid="job-row" data-status="${j.status}"><td><a href="#/job/${esc(j.id)}">${esc(j.id)}</a>${j.parentId ? ' <span class="muted">child</span>' : ''}</td>` +
        `<td>${esc(j.name)}</td><td class="status s-${j.status}">${j.status}</td><td>${j.attempt}</td>` +
        `<td>${j.progress === undefined ? '' : `${Math.round(j.progress * 100)}%`}</td><td>${ago(j.updatedAt)}</td></tr>`,
    )
    .join('');
}

/**
 * A page of the store's listing (api/list, the server's `GET {prefix}`): every job the store
 * holds, not only the recent ones the live list keeps; "Next page" follows the page's cursor.
 * @param {string | undefined} cursor
 */
async function loadAll(cursor) {
  const params = new URLSearchParams();
  if (state.filter.status) params.set('status', state.filter.status);
  if (state.filter.name) params.set('name', state.filter.name);
  if (cursor) params.set('cursor', cursor);
  const asked = params.toString();
  state.allQuery = asked;
  const response = await fetch(`api/list?${asked}`);
  // A newer request (a filter changed meanwhile) owns the table.
  if (state.allQuery !== asked) return;
  if (!response.ok) return void ($('all-summary').textContent = `the listing failed (${response.status})`);
  const page = /** @type {ListAnswer} */ (await response.json());
  if (state.allQuery !== asked) return;
  state.allCursor = page.cursor;
  /** @type {HTMLButtonElement} */ ($('all-next')).disabled = page.cursor === undefined;
  $('all-summary').textContent = `${page.jobs.length} on this page${cursor ? ' (a later page)' : ''}${page.cursor === undefined ? ' · the end' : ''}`;
  $('all-jobs').innerHTML = page.jobs
    .map(
      (j) =>
        `<tr data-testid="all-row" data-status="${j.status}"><td><a href="#/job/${esc(j.id)}">${esc(j.id)}</a>${j.child ? ' <span class="muted">child</span>' : ''}</td>` +
        `<td>${esc(j.name)}</td><td class="status s-${j.status}">${j.status}</td><td>${j.attempt}</td><td>${ago(j.createdAt)}</td></tr>`,
    )
    .join('');
}

/** @param {JobDetail | null} detail */
function renderJob(detail) {
  if (!detail) {
    $('job-status').textContent = 'gone';
    return;
  }
  const { job, events, tree, treeCap } = detail;
  $('job-title').textContent = `${job.name} ${job.id}`;
  $('job-status').textContent = job.status;
  $('job-status').className = `badge ${job.status}`;
  /** @type {HTMLProgressElement} */ ($('job-progress')).value = typeof job.progress === 'number' ? job.progress : tree ? tree.aggregateProgress : 0;
  $('job-attempt').textContent = `attempt ${job.attempt} · ${job.children.total} children, ${job.children.pending} pending`;
  // Settled is what has a finish time: no second list of statuses here.
  /** @type {HTMLButtonElement} */ ($('cancel')).disabled = job.finishedAt !== null;
  $('job-result').textContent = job.error
    ? JSON.stringify(job.error, null, 2)
    : job.status === 'completed'
      ? JSON.stringify(job.output, null, 2)
      : '…';
  const t0 = events[0]?.at ?? 0;
  $('timeline').innerHTML = events
    .map((e) => `<li data-testid="timeline-event">+${e.at - t0} ms <b class="s-${e.status}">${e.type}</b> ${eventDetail(e)}</li>`)
    .join('');
  let count = 0;
  /** @type {(n: TreeNode) => string} */
  const node = (n) => {
    count++;
    const bar = `<span class="bar"><i style="width:${Math.round(n.aggregateProgress * 100)}%"></i></span>`;
    const self = `<a href="#/job/${esc(n.id)}" class="node${n.id === job.id ? ' current' : ''}" data-testid="tree-node" data-id="${esc(n.id)}" data-status="${n.status}">${esc(n.name)} <span class="status s-${n.status}">${n.status}</span>${bar}</a>`;
    return `<li>${self}${n.children.length ? `<ul>${n.children.map(node).join('')}</ul>` : ''}</li>`;
  };
  const html = tree ? `<ul>${node(tree)}</ul>` : '';
  $('tree').innerHTML = html + (count >= treeCap ? `<p class="muted">first ${treeCap} nodes shown</p>` : '');
}

/** @param {JobEvent} e */
function eventDetail(e) {
  if (e.type === 'job.started') return `attempt ${e.attempt}`;
  if (e.type === 'job.resumed') return `attempt ${e.attempt} runs on: its children are done`;
  if (e.type === 'job.progress') return esc(JSON.stringify(e.progress)).slice(0, 80);
  if ('error' in e) return `<span class="s-failed">${esc(e.error.code)}: ${esc(e.error.message)}</span>`;
  return '';
}

/** @param {'cancel' | 'retry'} action */
async function act(action) {
  const response = await fetch(`api/jobs/${encodeURIComponent(state.jobId ?? '')}/${action}`, { method: 'POST', headers: { 'x-dashboard': '1' } });
  const body = /** @type {{ id?: string, result?: string, code?: string }} */ (await response.json());
  if (!response.ok) return void ($('action-result').textContent = `${action}: ${body.code ?? response.status}`);
  if (action === 'retry') location.hash = `#/job/${body.id ?? ''}`;
  else $('action-result').textContent = `cancel: ${body.result ?? ''}`;
}

function route() {
  const match = /^#\/job\/([\w-]{1,64})$/.exec(location.hash);
  state.jobId = match?.[1];
  $('overview-view').hidden = Boolean(state.jobId);
  $('job-view').hidden = !state.jobId;
  $('action-result').textContent = '';
  $('tree').innerHTML = '';
  $('timeline').innerHTML = '';
  connect();
  if (!state.jobId) void loadAll(undefined);
}

$('filters').addEventListener('change', () => {
  const roots = document.querySelector('[name=roots]');
  state.filter = { status: field('status').value, name: field('name').value, roots: roots instanceof HTMLInputElement && roots.checked ? '1' : '' };
  connect();
  void loadAll(undefined);
});
$('all-first').addEventListener('click', () => void loadAll(undefined));
$('all-next').addEventListener('click', () => void loadAll(state.allCursor));
$('cancel').addEventListener('click', () => void act('cancel'));
$('retry').addEventListener('click', () => void act('retry'));
window.addEventListener('hashchange', route);
route();

/** Schedules change rarely and are not in the live feed: read every few seconds. */
async function refreshSchedules() {
  const response = await fetch('api/schedules').catch(() => undefined);
  if (!response?.ok) return;
  const { schedules, paused } = /** @type {SchedulesAnswer} */ (await response.json());
  $('paused').textContent = paused.length > 0 ? `paused: ${paused.join(', ')}` : '';
  $('schedules').innerHTML =
    schedules.length === 0
      ? '<tr><td class="muted">none</td></tr>'
      : schedules
          .map((s) => {
            const every = s.cron === undefined ? `every ${s.everyMs} ms` : `${s.cron}${s.tz ? ` (${s.tz})` : ''}`;
            const next = s.nextAt === null ? 'never' : new Date(s.nextAt).toLocaleTimeString();
            const last = s.lastJobId ? `<a href="#/job/${esc(s.lastJobId)}">last run</a>` : '';
            return `<tr><td>${esc(s.key)}</td><td>${esc(s.job)}</td><td>${esc(every)}</td><td>next ${esc(next)}</td><td>${last}</td></tr>`;
          })
          .join('');
}
void refreshSchedules();
setInterval(() => void refreshSchedules(), 5_000);
