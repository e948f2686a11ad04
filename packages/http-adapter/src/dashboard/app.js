// @ts-check
// The dashboard page: one EventSource to api/live, redrawn as messages arrive. No framework and
// no build step; the server bounds what arrives (at most a few messages a second, 200 list rows,
// 2,000 tree nodes), so plain string rendering stays fast with any number of jobs. Its types are
// the server's (feed-message.ts), checked by `npm run typecheck`; the status filter's options
// come from the server too (the core's one list of statuses), rendered into the page. The
// charts, a job's page and the admin panels are modules of their own, imported here.
import { startAdminPanels } from './admin-panels.js';
import { maxPoints, renderCharts } from './charts.js';
import { $, ago, esc, field, fillSelect, fmt } from './dom.js';
import { renderJob } from './job-detail.js';

/** @typedef {import('./feed-message.js').FeedMessage} FeedMessage */
/** @typedef {import('./feed-message.js').Overview} Overview */
/** @typedef {import('./feed-message.js').ListAnswer} ListAnswer */
/** @typedef {NonNullable<FeedMessage['list']>} JobList */
/** @typedef {NonNullable<FeedMessage['points']>[number]} SeriesPoint */
/** @typedef {NonNullable<Overview['actors']>['workers'][number]} WorkerTile */

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
    renderCharts(state.points);
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

/** @param {'cancel' | 'retry'} action */
async function act(action) {
  const response = await fetch(`api/jobs/${encodeURIComponent(state.jobId ?? '')}/${action}`, { method: 'POST', headers: { 'x-dashboard': '1' } });
  const body = /** @type {{ id?: string, result?: string, code?: string }} */ (await response.json());
  if (!response.ok) return void ($('action-result').textContent = `${action}: ${body.code ?? response.status}`);
  if (action === 'retry') location.hash = `#/job/${body.id ?? ''}`;
  else $('action-result').textContent = `cancel: ${body.result ?? ''}`;
}

function route() {
  const match = /^#\/job\/([\w.-]{1,64})$/.exec(location.hash);
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
startAdminPanels();
