// @ts-check
// A job's page: its record, its event timeline and its tree (capped by the server).
import { $, esc } from './dom.js';

/** @typedef {import('./feed-message.js').JobDetail} JobDetail */
/** @typedef {JobDetail['events'][number]} JobEvent */
/** @typedef {NonNullable<JobDetail['tree']>} TreeNode */

/** @param {JobDetail | null} detail */
export function renderJob(detail) {
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
