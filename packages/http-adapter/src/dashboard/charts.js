// @ts-check
// The overview's line charts: SVG paths in a fixed viewBox, redrawn whole on each new point.
import { $, esc, fmt } from './dom.js';

/** @typedef {NonNullable<import('./feed-message.js').FeedMessage['points']>[number]} SeriesPoint */
/** @typedef {{ label: string, color: string, values: (number | null)[] }} Line */

/** Five minutes of points, one a second. */
export const maxPoints = 300;

/** @param {HTMLElement} element */
const svgOf = (element) => /** @type {SVGElement} */ (/** @type {unknown} */ (element));

/**
 * The three charts over the points of the history (at most `maxPoints`, one a second).
 * @param {SeriesPoint[]} p
 */
export function renderCharts(p) {
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
