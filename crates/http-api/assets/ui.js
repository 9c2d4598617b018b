// DOM building blocks shared by the console's pages: elements, forms built from field lists
// (with the API's field errors shown at the field), tables, confirmations, notices, formats.
// Everything is built with DOM calls: no HTML strings, no inline styles (CSP `default-src 'self'`).

import { ApiError } from './api.js';

/**
 * Creates an element. `props`: `class`, `text`, `testid` (→ data-testid), `data` (object →
 * data-* attributes), `on*` functions (event listeners), DOM properties (`value`, `hidden`,
 * `disabled`, `checked`, `type`…) and any other key as an attribute. Children: nodes,
 * strings, arrays, null (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false && k.startsWith('aria-')) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && !k.includes('-') && k !== 'list' && k !== 'form') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A page heading with optional actions on the right. */
export function header(title, ...actions) {
  return h('div', { class: 'page-head' }, h('h1', { text: title, testid: 'page-title' }),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}

/** A link styled as a button. */
export function linkButton(href, text, testid, cls = 'button') {
  return h('a', { href, class: cls, testid, text });
}

/** A button; `onclick` may be async: the button is disabled while it runs. */
export function button(text, testid, onclick, cls = '') {
  const b = h('button', { type: 'button', text, testid, class: cls });
  b.addEventListener('click', async (ev) => {
    b.disabled = true;
    try {
      await onclick(ev);
    } finally {
      if (b.isConnected) b.disabled = false;
    }
  });
  return b;
}

// ---- errors and notices ----------------------------------------------------------------

/** A live region for an error message (role=alert), hidden while empty. */
export function errorBox(testid = 'form-error') {
  return h('div', { class: 'error-box', role: 'alert', testid, hidden: true });
}

/** The text of an error for people: the API's message, naming the field when there is one. */
export function errorText(err) {
  if (err instanceof ApiError) {
    return err.field && !err.message.includes(err.field)
      ? `${err.message} (field: ${err.field})`
      : err.message;
  }
  return err && err.message ? err.message : String(err);
}

export function showError(box, err) {
  if (!err) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  replace(box, errorText(err));
  box.hidden = false;
}

let noticeTimer = 0;

/** A short confirmation in the header's status region ("User added"). */
export function notice(text) {
  const el = document.getElementById('notice');
  if (!el) return;
  el.textContent = text;
  el.hidden = !text;
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => { el.hidden = true; el.textContent = ''; }, 8000);
}

/** Asks for confirmation in a modal dialog; resolves to true when confirmed. */
export function confirmDialog(message, okText = 'Delete') {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', testid: 'confirm-dialog', 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text', text: message }),
      h('form', { method: 'dialog', class: 'actions' },
        h('button', { value: 'cancel', text: 'Cancel', testid: 'confirm-cancel' }),
        h('button', { value: 'ok', text: okText, class: 'danger', testid: 'confirm-ok' })));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// ---- forms -----------------------------------------------------------------------------

let fieldSeq = 0;

/**
 * A form from field descriptions `{name, label, type, required, options, help, readonly,
 * placeholder, autocomplete, rows}`; `type` is text (default), password, number, checkbox,
 * select, textarea or list (one entry per line or comma-separated → array). Field test ids
 * are `${prefix}-${name}` (underscores as dashes); the submit button is `${prefix}-save`.
 * `onsubmit(values)` may throw an ApiError: its message is shown and its field marked.
 */
export function form(prefix, fields, initial, submitText, onsubmit, extraActions = []) {
  const errors = errorBox(`${prefix}-error`);
  const f = h('form', { class: 'form', testid: `${prefix}-form`, novalidate: true });
  const inputs = new Map();
  for (const field of fields) {
    const id = `f${++fieldSeq}`;
    const tid = `${prefix}-${field.name.replaceAll('_', '-')}`;
    const value = initial ? initial[field.name] : field.default;
    const help = field.help ? h('p', { class: 'help', id: `${id}-help`, text: field.help }) : null;
    const fieldError = h('p', { class: 'field-error', id: `${id}-error`, hidden: true, testid: `${tid}-error` });
    const described = [help && help.id, fieldError.id].filter(Boolean).join(' ');
    let input;
    const common = {
      id, name: field.name, testid: tid, required: !!field.required, readOnly: !!field.readonly,
      'aria-describedby': described, placeholder: field.placeholder, autocomplete: field.autocomplete,
    };
    if (field.type === 'checkbox') {
      input = h('input', { ...common, type: 'checkbox', checked: value === undefined ? !!field.default : !!value });
      if (field.readonly) input.disabled = true;
    } else if (field.type === 'select') {
      input = h('select', { ...common, readOnly: undefined, disabled: !!field.readonly },
        field.options.map(([v, label]) => h('option', { value: v, text: label })));
      input.value = value ?? field.options[0][0];
    } else if (field.type === 'textarea' || field.type === 'list') {
      const text = Array.isArray(value) ? value.join('\n') : value ?? '';
      input = h('textarea', { ...common, rows: field.rows || 3, value: text, spellcheck: false });
    } else {
      input = h('input', { ...common, type: field.type || 'text', value: value ?? '' });
      if (field.type === 'number') {
        if (field.min !== undefined) input.min = field.min;
        if (field.max !== undefined) input.max = field.max;
      }
    }
    inputs.set(field.name, { field, input, fieldError });
    const label = h('label', { for: id, text: field.label });
    f.append(field.type === 'checkbox'
      ? h('div', { class: 'field check' }, input, label, help, fieldError)
      : h('div', { class: 'field' }, label, input, help, fieldError));
  }
  const save = h('button', { type: 'submit', class: 'primary', text: submitText, testid: `${prefix}-save` });
  f.append(errors, h('div', { class: 'actions' }, save, extraActions));

  const clearErrors = () => {
    showError(errors, null);
    for (const { input, fieldError } of inputs.values()) {
      input.removeAttribute('aria-invalid');
      fieldError.hidden = true;
      fieldError.textContent = '';
    }
  };
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const missing = [...inputs.values()].find(({ field, input }) =>
      field.required && field.type !== 'checkbox' && !input.value.trim());
    if (missing) {
      markField(inputs, missing.field.name, `${missing.field.label} is required.`);
      showError(errors, new Error(`${missing.field.label} is required.`));
      missing.input.focus();
      return;
    }
    save.disabled = true;
    try {
      await onsubmit(readValues(inputs));
    } catch (err) {
      showError(errors, err);
      if (err instanceof ApiError && err.field) markField(inputs, err.field, err.message);
    } finally {
      save.disabled = false;
    }
  });
  return f;
}

/** Marks the input for an API field name (`cidrs[1]` marks `cidrs`) and focuses it. */
function markField(inputs, apiField, message) {
  const m = /^([A-Za-z_]+)(?:\[(\d+)\])?/.exec(apiField);
  const entry = m && inputs.get(m[1]);
  if (!entry) return;
  entry.input.setAttribute('aria-invalid', 'true');
  // The API's messages may start with the field's name ("cidrs[1]: …"); the field shows it.
  const text = message.startsWith(`${apiField}: `) ? message.slice(apiField.length + 2) : message;
  entry.fieldError.textContent = m[2] !== undefined ? `Entry ${Number(m[2]) + 1}: ${text}` : text;
  entry.fieldError.hidden = false;
  entry.input.focus();
}

/** Splits a list field: one entry per line or separated by commas. */
export function splitList(text) {
  return text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}

function readValues(inputs) {
  const out = {};
  for (const [name, { field, input }] of inputs) {
    if (field.type === 'checkbox') out[name] = input.checked;
    else if (field.type === 'list') out[name] = splitList(input.value);
    else if (field.type === 'number') out[name] = input.value.trim() === '' ? null : Number(input.value);
    else {
      const v = field.type === 'password' ? input.value : input.value.trim();
      out[name] = v === '' ? null : v;
    }
  }
  return out;
}

/** Drops null values (for creating: absent = the server's default). */
export function withoutNulls(values) {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null));
}

/** The values that differ from `original` (for PATCH). */
export function changed(values, original) {
  const out = {};
  for (const [k, v] of Object.entries(values)) {
    if (JSON.stringify(v) !== JSON.stringify(original[k] ?? (Array.isArray(v) ? [] : null))) out[k] = v;
  }
  return out;
}

// ---- tables ----------------------------------------------------------------------------

/**
 * A table: `columns` = [{label, value: (row) => node|string, class?}], rows get
 * `rowProps(row)` (test id, data attributes). An empty list shows `empty` in one cell.
 */
export function table(testid, caption, columns, rows, rowProps, empty = 'Nothing here yet.') {
  const body = rows.length
    ? rows.map((r) => h('tr', rowProps ? rowProps(r) : {},
      columns.map((c) => h('td', { class: c.class }, c.value(r)))))
    : [h('tr', { testid: 'empty' }, h('td', { colspan: columns.length, class: 'empty', text: empty }))];
  return h('div', { class: 'table-wrap' },
    h('table', { testid },
      caption ? h('caption', { class: 'sr-only', text: caption }) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c.label, class: c.class })))),
      h('tbody', {}, body)));
}

/** A small pill ("enabled", "registered"). */
export function badge(text, kind = '', testid) {
  return h('span', { class: `badge ${kind}`, text, testid });
}

/** A comma-separated list, or a dash. */
export function listText(items) {
  return items && items.length ? items.join(', ') : '—';
}

/** A value or a dash. */
export function orDash(v) {
  return v === null || v === undefined || v === '' ? '—' : String(v);
}

// ---- formats ---------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

/** An RFC 3339 time in local time, `2026-11-21 10:00:00` (the exact value as a tooltip). */
export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return h('time', { datetime: iso, title: iso, text });
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.floor(Number(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return hh ? `${hh}:${pad(mm)}:${pad(s % 60)}` : `${mm}:${pad(s % 60)}`;
}

/** Bytes for people. */
export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** A `datetime-local` value as an RFC 3339 UTC time, or null. */
export function localToIso(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

// ---- refreshing ------------------------------------------------------------------------

/**
 * Runs `fn` now and every `ms` milliseconds (skipped while the tab is hidden) until the
 * returned stop function is called. A run never overlaps the previous one.
 */
export function every(ms, fn) {
  let stopped = false;
  let timer = 0;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch {
        // fn shows its own errors; keep refreshing.
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
