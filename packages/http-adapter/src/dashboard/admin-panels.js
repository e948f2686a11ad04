// @ts-check
// The system-wide panels, filled for admins only (the server answers others with empty lists):
// schedules and paused types, and flow control per job type — rate limits and what holds them
// back, pauses (with a button each), and the flow keys (tenants) with the most queued. Neither is
// in the live feed: they are read every few seconds.
import { $, esc } from './dom.js';

/** @typedef {import('./feed-message.js').SchedulesAnswer} SchedulesAnswer */
/** @typedef {import('./feed-message.js').FlowAnswer} FlowAnswer */
/** @typedef {FlowAnswer['jobTypes'][number]} JobTypeFlow */
/** @typedef {JobTypeFlow['top'][number]} FlowKey */

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

/** @param {string | undefined} at */
const clock = (at) => (at === undefined ? '' : new Date(at).toLocaleTimeString());

/**
 * What holds a gate back now, in words; '' when nothing does.
 * @param {{ heldUntil?: string, pushBackUntil?: string }} gate
 */
function held(gate) {
  if (gate.pushBackUntil !== undefined) return `pushed back until ${clock(gate.pushBackUntil)}`;
  return gate.heldUntil === undefined ? '' : `held until ${clock(gate.heldUntil)}`;
}

/** @param {FlowKey} k */
function flowKey(k) {
  const running = k.running === undefined ? '' : `, ${k.running} running`;
  const gate = held(k);
  return `<span class="flow-key" data-testid="flow-key" data-key="${esc(k.key)}">${esc(k.key)} <b>${k.queued}</b>${running}${gate ? ` <span class="s-failed">${esc(gate)}</span>` : ''}</span>`;
}

/** @param {JobTypeFlow} f */
function flowRow(f) {
  const rate = f.rateLimit ? `${f.rateLimit.max} per ${f.rateLimit.perMs} ms${f.rateLimit.perKey ? ' per key' : ''}` : 'no rate limit';
  const tokens = f.tokens === undefined ? '' : ` · ${f.tokens} left`;
  const gate = held(f);
  const share = f.fairShare ? `by ${f.fairShare.keyedBy}${f.fairShare.concurrencyPerKey ? `, ≤ ${f.fairShare.concurrencyPerKey} each` : ''}` : '';
  const keys = f.top.map(flowKey).join(' ') + (f.keys > f.top.length ? ` <span class="muted">of ${f.keys}${f.partial ? '+' : ''} keys</span>` : '');
  const action = f.paused ? 'resume' : 'pause';
  return (
    `<tr data-testid="flow-row" data-name="${esc(f.name)}" data-paused="${f.paused}">` +
    `<td>${esc(f.name)}</td><td class="${f.paused ? 's-failed' : 'muted'}">${f.paused ? 'paused' : 'running'}</td>` +
    `<td>${esc(rate)}${esc(tokens)}${gate ? ` <span class="s-failed" data-testid="flow-held">${esc(gate)}</span>` : ''}</td>` +
    `<td>${f.queued} queued <span class="muted">${esc(share)}</span></td><td>${keys}</td>` +
    `<td><button type="button" data-testid="flow-${action}" data-name="${esc(f.name)}" data-action="${action}">${action}</button></td></tr>`
  );
}

async function refreshFlow() {
  const response = await fetch('api/flow').catch(() => undefined);
  if (!response?.ok) return;
  const { jobTypes } = /** @type {FlowAnswer} */ (await response.json());
  $('flow').innerHTML = jobTypes.length === 0 ? '<tr><td class="muted">none</td></tr>' : jobTypes.map(flowRow).join('');
}

/** Pause or resume a job type from its row, then read the panels again. */
$('flow').addEventListener('click', (event) => {
  const button = event.target instanceof HTMLButtonElement ? event.target : undefined;
  const { name, action } = button?.dataset ?? {};
  if (!name || !action) return;
  void fetch(`api/job-types/${encodeURIComponent(name)}/${action}`, { method: 'POST', headers: { 'x-dashboard': '1' } }).then(() => {
    void refreshFlow();
    void refreshSchedules();
  });
});

/** Reads both panels now, then every few seconds. */
export function startAdminPanels() {
  void refreshSchedules();
  void refreshFlow();
  setInterval(() => void refreshSchedules(), 5_000);
  setInterval(() => void refreshFlow(), 2_000);
}
