// @ts-check
// The page's small DOM helpers, shared by its modules (app.js and the modules it imports).

/**
 * An element the page is known to have.
 * @param {string} id
 * @returns {HTMLElement}
 */
export const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
};

/** @param {unknown} value */
export const esc = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** @param {number | null | undefined} n */
export const fmt = (n) =>
  n === null || n === undefined ? '–' : n >= 1000 ? `${(n / 1000).toFixed(n >= 10_000 ? 0 : 1)}k` : `${Math.round(n * 10) / 10}`;

/** @param {number} at */
export const ago = (at) => {
  const s = Math.max(0, Math.round((Date.now() - at) / 1000));
  return s < 60 ? `${s}s ago` : `${Math.floor(s / 60)}m ago`;
};

/**
 * A form control of the filters.
 * @param {string} name
 * @returns {HTMLSelectElement}
 */
export function field(name) {
  const element = document.querySelector(`[name=${name}]`);
  if (!(element instanceof HTMLSelectElement)) throw new Error(`the page has no select ${name}`);
  return element;
}

/**
 * @param {HTMLSelectElement} select
 * @param {readonly string[]} values
 * @param {string} current
 */
export function fillSelect(select, values, current) {
  select.innerHTML = `<option value="">any</option>${values.map((v) => `<option${v === current ? ' selected' : ''}>${esc(v)}</option>`).join('')}`;
}
