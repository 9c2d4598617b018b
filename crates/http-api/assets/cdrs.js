// Call records: filters (kept in the page address), the table with "more" by cursor, the CSV
// download with the same filters, and the per-day summary. A SIP user sees this page as
// "My calls" (the server only returns their own records).

import { api, download } from './api.js';
import {
  duration, errorBox, h, header, localToIso, orDash, replace, showError, table, time,
} from './ui.js';

const DISPOSITIONS = ['ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CANCELLED'];
const LIMITS = ['10', '25', '50', '100', '250', '1000'];
const DEFAULT_LIMIT = '50';

const TEXT_FILTERS = [
  ['caller', 'Caller', false],
  ['callee', 'Callee', false],
  ['party', 'Caller or callee', false],
  ['trunk', 'Trunk', false],
];

/** The API query for the filters in the page address. */
function apiFilters(q) {
  return {
    from: localToIso(q.get('from')),
    to: localToIso(q.get('to')),
    caller: q.get('caller'),
    callee: q.get('callee'),
    party: q.get('party'),
    disposition: q.get('disposition'),
    trunk: q.get('trunk'),
    min_duration: q.get('min_duration'),
  };
}

function filterForm(q, mine, base) {
  const fields = [];
  const input = (name, label, props = {}) => {
    const id = `cdr-${name.replaceAll('_', '-')}`;
    fields.push(h('div', { class: 'field' }, h('label', { for: id, text: label }),
      h('input', { id, name, testid: id, value: q.get(name) || '', autocomplete: 'off', ...props })));
  };
  const select = (name, label, options, value) => {
    const id = `cdr-${name}`;
    const el = h('select', { id, name, testid: id },
      options.map(([v, text]) => h('option', { value: v, text })));
    el.value = value;
    fields.push(h('div', { class: 'field' }, h('label', { for: id, text: label }), el));
  };
  input('from', 'From', { type: 'datetime-local', step: 1 });
  input('to', 'Until', { type: 'datetime-local', step: 1 });
  for (const [name, label, forUser] of TEXT_FILTERS) {
    if (!mine || forUser) input(name, label);
  }
  select('disposition', 'Result', [['', 'Any'], ...DISPOSITIONS.map((d) => [d, d.toLowerCase()])], q.get('disposition') || '');
  input('min_duration', 'Billed at least (s)', { type: 'number', min: 0, step: 1 });
  select('sort', 'Order', [['desc', 'Newest first'], ['asc', 'Oldest first']], q.get('sort') || 'desc');
  select('limit', 'Per page', LIMITS.map((l) => [l, l]), q.get('limit') || DEFAULT_LIMIT);
  const f = h('form', { class: 'filters', testid: 'cdr-filters' }, fields,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', text: 'Search', testid: 'cdr-search' }),
      h('a', { href: base, class: 'button', text: 'Clear', testid: 'cdr-clear' })));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(f)) {
      const s = String(v).trim();
      if (s && !(k === 'sort' && s === 'desc') && !(k === 'limit' && s === DEFAULT_LIMIT)) params.set(k, s);
    }
    const target = params.size ? `${base}?${params}` : base;
    // Searching again with the same filters reloads (new records may have arrived).
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  });
  return f;
}

const whereText = (end) => (end ? (end.kind === 'none' ? '—' : `${end.name || '?'} (${end.kind})`) : '—');

const COLUMNS = [
  { label: 'Start', value: (c) => time(c.start_at) },
  { label: 'Caller', value: (c) => `${c.caller}${c.caller_domain ? `@${c.caller_domain}` : ''}` },
  { label: 'Callee', value: (c) => orDash(c.callee) },
  { label: 'Dialed', value: (c) => orDash(c.dialed) },
  { label: 'From', value: (c) => whereText(c.source) },
  { label: 'To', value: (c) => whereText(c.destination) },
  { label: 'Duration', value: (c) => duration(c.duration), class: 'num' },
  { label: 'Billed', value: (c) => duration(c.billable), class: 'num' },
  { label: 'Result', value: (c) => c.disposition },
  { label: 'SIP', value: (c) => String(c.sip_status ?? '—'), class: 'num' },
  { label: 'Ended by', value: (c) => orDash(c.hangup_by) },
];

/** `#/cdrs?…` (admin) and `#/my-calls?…` (SIP user). */
export async function cdrPage(view, q, mine) {
  const base = mine ? '#/my-calls' : '#/cdrs';
  const filters = apiFilters(q);
  const limit = q.get('limit') || DEFAULT_LIMIT;
  const sort = q.get('sort') || 'desc';
  const error = errorBox('page-error');
  const list = h('div', { testid: 'cdr-list' });
  const count = h('span', { testid: 'cdr-count', class: 'muted' });
  const more = h('button', { type: 'button', text: 'More', testid: 'cdr-more', hidden: true });
  const csvStatus = h('span', { class: 'muted', role: 'status', testid: 'cdr-csv-status' });
  const csv = h('button', { type: 'button', text: 'Download CSV', testid: 'cdr-csv' });
  const summary = h('section', { class: 'summary', 'aria-labelledby': 'summary-title', testid: 'cdr-summary-section' });
  replace(view, header(mine ? 'My calls' : 'Call records'), filterForm(q, mine, base), error,
    h('div', { class: 'toolbar' }, count, csv, csvStatus), list,
    h('div', { class: 'actions' }, more), summary);

  const rows = [];
  let cursor = null;
  const render = () => {
    replace(list, table('cdr-table', 'Call records', COLUMNS, rows,
      (c) => ({ testid: 'cdr-row', data: { callId: c.call_id, id: String(c.id) } }),
      'No call records match.'));
    count.textContent = `${rows.length} record${rows.length === 1 ? '' : 's'} shown${cursor ? ' (more available)' : ''}`;
    more.hidden = !cursor;
  };
  const fetchPage = async () => {
    const page = await api.get('/api/cdrs', { ...filters, sort, limit, cursor });
    rows.push(...(page.items || []));
    cursor = page.next_cursor || null;
    render();
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      await fetchPage();
    } catch (err) {
      showError(error, err);
    } finally {
      more.disabled = false;
    }
  });
  csv.addEventListener('click', async () => {
    csv.disabled = true;
    csvStatus.textContent = 'Preparing…';
    try {
      const r = await download('/api/cdrs', { ...filters, sort, format: 'csv' }, 'text/csv', 'cdrs.csv');
      csvStatus.textContent = `Downloaded ${r.name} (${r.size} bytes).`;
    } catch (err) {
      csvStatus.textContent = '';
      showError(error, err);
    } finally {
      csv.disabled = false;
    }
  });

  try {
    await fetchPage();
  } catch (err) {
    showError(error, err);
    return;
  }
  try {
    const tz = -new Date().getTimezoneOffset();
    const s = await api.get('/api/cdrs/summary', { ...filters, tz_offset: tz });
    renderSummary(summary, s.days || []);
  } catch (err) {
    showError(error, err);
  }
}

function renderSummary(section, days) {
  const total = days.reduce((a, d) => ({ calls: a.calls + d.calls, answered: a.answered + d.answered }), { calls: 0, answered: 0 });
  replace(section,
    h('h2', { id: 'summary-title', text: 'Per day' }),
    h('p', { class: 'muted', testid: 'cdr-summary-total', text: `${total.calls} calls, ${total.answered} answered` }),
    table('cdr-summary', 'Calls per day', [
      { label: 'Day', value: (d) => d.day },
      { label: 'Calls', value: (d) => String(d.calls), class: 'num' },
      { label: 'Answered', value: (d) => String(d.answered), class: 'num' },
      { label: 'Answer rate', value: (d) => `${Math.round((d.asr || 0) * 100)} %`, class: 'num' },
      { label: 'Average billed', value: (d) => duration(d.acd || 0), class: 'num' },
    ], days, (d) => ({ testid: 'cdr-summary-row', data: { day: d.day, calls: String(d.calls) } }), 'No calls in this range.'));
}
