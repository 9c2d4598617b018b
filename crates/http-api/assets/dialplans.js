// Dialplans: the list, the editor (line-number gutter; a rejected save lists the problems
// and marks their lines), the version history with restore, and the route test form.

import { api, ApiError, seg } from './api.js';
import {
  button, confirmDialog, errorBox, form, h, header, linkButton, localToIso, notice, replace,
  showError, size, table, time,
} from './ui.js';

/** `#/dialplans` */
export async function dialplanListPage(view) {
  const error = errorBox('page-error');
  const list = h('div', { testid: 'dialplans-list' });
  const name = h('input', { id: 'dialplan-new-name', name: 'name', required: true, testid: 'dialplan-new-name', autocomplete: 'off' });
  const create = h('form', { class: 'toolbar', testid: 'dialplan-new-form' },
    h('label', { for: 'dialplan-new-name', text: 'New dialplan' }), name,
    h('button', { type: 'submit', text: 'Create', testid: 'dialplan-new-submit' }));
  create.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = name.value.trim();
    if (n) location.hash = `#/dialplans/edit/${seg(n)}?new=1`;
  });
  replace(view, header('Dialplans'), error, list, create, routeTest());
  try {
    const plans = await api.get('/api/dialplans');
    replace(list, table('dialplans-table', 'Dialplans', [
      { label: 'Name', value: (p) => h('a', { href: `#/dialplans/edit/${seg(p.name)}`, text: p.name, testid: 'dialplan-open' }) },
      { label: 'Version', value: (p) => String(p.version ?? '—') },
      { label: 'Updated', value: (p) => time(p.updated_at) },
      { label: 'Size', value: (p) => size(p.size ?? 0) },
    ], plans, (p) => ({ testid: 'dialplan-row', data: { name: p.name } }), 'No dialplan files.'));
  } catch (err) {
    showError(error, err);
  }
}

/** Whether a diagnostic's file is the plan `name` (`main`, `main.toml`, `dir/main.toml`). */
function sameFile(file, name) {
  if (!file) return true;
  const base = String(file).split(/[\\/]/).pop();
  const stem = (s) => s.replace(/\.toml$/i, '');
  return stem(base) === stem(name);
}

/** A textarea with a line-number gutter and a backdrop that highlights marked lines. */
function codeEditor(initial) {
  const gutter = h('div', { class: 'gutter', testid: 'dialplan-gutter', 'aria-hidden': 'true' });
  const backdrop = h('div', { class: 'backdrop', 'aria-hidden': 'true' });
  const area = h('textarea', {
    id: 'dialplan-content', class: 'code', testid: 'dialplan-content', wrap: 'off',
    spellcheck: false, autocomplete: 'off', autocapitalize: 'off', value: initial,
  });
  let marks = new Map(); // line → message
  const render = () => {
    const lines = area.value.split('\n');
    const gutterLines = lines.map((_, i) => {
      const n = i + 1;
      const msg = marks.get(n);
      return h('div', {
        class: msg ? 'ln error' : 'ln', testid: 'gutter-line', data: { line: String(n) },
        title: msg || undefined,
      }, msg ? h('span', { class: 'mark', text: '!' }) : null, String(n));
    });
    // Lines marked beyond the end (a problem "at the end of the file") stay visible.
    for (const [n, msg] of marks) {
      if (n > lines.length) {
        gutterLines.push(h('div', { class: 'ln error', testid: 'gutter-line', data: { line: String(n) }, title: msg },
          h('span', { class: 'mark', text: '!' }), String(n)));
      }
    }
    replace(gutter, gutterLines);
    replace(backdrop, lines.map((text, i) => h('div', {
      class: marks.has(i + 1) ? 'bl error' : 'bl', testid: marks.has(i + 1) ? 'marked-line' : undefined,
      data: { line: String(i + 1) },
    }, text || '\u200b')));
    sync();
  };
  const sync = () => {
    gutter.scrollTop = area.scrollTop;
    backdrop.scrollTop = area.scrollTop;
    backdrop.scrollLeft = area.scrollLeft;
  };
  area.addEventListener('input', render);
  area.addEventListener('scroll', sync);
  const el = h('div', { class: 'editor' }, gutter, h('div', { class: 'editor-body' }, backdrop, area));
  render();
  return {
    el,
    area,
    get value() { return area.value; },
    set value(v) { area.value = v; render(); },
    mark(lines) { marks = lines; render(); },
    /** Scrolls line `n` into view (two lines of context above it). */
    reveal(n) {
      const row = gutter.querySelector(`[data-line="${n}"]`);
      if (!row) return;
      area.scrollTop = Math.max(0, row.offsetTop - gutter.offsetTop - 2 * row.offsetHeight);
      sync();
    },
    /** Selects line `n` and scrolls it into view. */
    goTo(n) {
      const lines = area.value.split('\n');
      const line = Math.min(Math.max(1, n), lines.length);
      let start = 0;
      for (let i = 0; i < line - 1; i++) start += lines[i].length + 1;
      area.focus();
      area.setSelectionRange(start, start + lines[line - 1].length);
      this.reveal(line);
    },
  };
}

/** `#/dialplans/edit/{name}` (`?new=1` for a plan not saved yet) */
export async function dialplanEditorPage(view, query, name) {
  const error = errorBox('page-error');
  replace(view, header(`Dialplan ${name}`), error);
  let plan = null;
  try {
    plan = await api.get(`/api/dialplans/${seg(name)}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 && query.get('new'))) {
      showError(error, err);
      return;
    }
  }
  const editor = codeEditor(plan ? plan.content : '');
  const status = h('p', { class: 'status', role: 'status', testid: 'dialplan-status' });
  const problems = h('div', { class: 'problems', testid: 'dialplan-problems', hidden: true });
  const versionInfo = h('span', { class: 'muted', testid: 'dialplan-version' });
  const setVersion = (v) => {
    versionInfo.textContent = v ? `version ${v}` : plan ? 'no recorded version' : 'new, not saved yet';
  };
  setVersion(plan && plan.version);
  const versions = h('section', { class: 'versions', 'aria-labelledby': 'versions-title' });

  const showProblems = (details, intro) => {
    const own = new Map();
    for (const d of details) {
      if (sameFile(d.file, name) && d.line > 0) {
        own.set(d.line, own.has(d.line) ? `${own.get(d.line)}\n${d.message}` : d.message);
      }
    }
    editor.mark(own);
    if (own.size) editor.reveal(Math.min(...own.keys()));
    if (!details.length) {
      problems.hidden = true;
      problems.replaceChildren();
      return;
    }
    const items = details.map((d) => {
      // Line and column are 1-based; 0 (or absent) means the problem is not about one.
      const where = [d.file, d.line > 0 ? `line ${d.line}` : null, d.line > 0 && d.column > 0 ? `column ${d.column}` : null]
        .filter(Boolean).join(', ') || name;
      const jump = sameFile(d.file, name) && d.line > 0
        ? h('button', { type: 'button', class: 'link', text: where, testid: 'dialplan-error-goto', onclick: () => editor.goTo(d.line) })
        : h('span', { class: 'where', text: where });
      return h('li', { testid: 'dialplan-error', data: { line: d.line > 0 ? String(d.line) : '', file: d.file || '' } },
        jump, ': ', h('span', { class: 'message', text: d.message }));
    });
    replace(problems, h('p', { text: intro }), h('ul', { testid: 'dialplan-errors' }, items));
    problems.hidden = false;
  };

  const submit = async (dryRun) => {
    showError(error, null);
    status.textContent = dryRun ? 'Checking…' : 'Saving…';
    try {
      const r = await api.put(`/api/dialplans/${seg(name)}`, { content: editor.value }, dryRun ? { dry_run: 'true' } : undefined);
      showProblems([], '');
      if (dryRun) {
        status.textContent = 'The dialplan is valid (not saved).';
      } else {
        setVersion(r.version);
        status.textContent = `Saved as version ${r.version}${r.applied ? ' and applied.' : '; not applied.'}`;
        notice(`Dialplan ${name} saved.`);
        if (query.get('new')) history.replaceState(null, '', `#/dialplans/edit/${seg(name)}`);
        await loadVersions();
      }
    } catch (err) {
      if (err instanceof ApiError && err.details.length) {
        status.textContent = dryRun ? 'The dialplan has errors.' : 'Not saved: the dialplan has errors.';
        showProblems(err.details, `${err.message}:`);
      } else {
        status.textContent = '';
        showError(error, err);
      }
    }
  };

  const loadVersions = async () => {
    let list;
    try {
      list = await api.get(`/api/dialplans/${seg(name)}/versions`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) list = [];
      else {
        showError(error, err);
        return;
      }
    }
    const preview = h('pre', { class: 'code preview', testid: 'dialplan-version-content', hidden: true });
    const actions = (v) => h('div', { class: 'row-actions' },
      button('View', 'dialplan-version-view', async () => {
        try {
          const full = await api.get(`/api/dialplans/${seg(name)}/versions/${v.version}`);
          preview.textContent = full.content;
          preview.hidden = false;
          preview.setAttribute('aria-label', `Version ${v.version}`);
        } catch (err) {
          showError(error, err);
        }
      }, 'small'),
      button('Restore', 'dialplan-version-restore', async () => {
        if (!(await confirmDialog(`Restore version ${v.version} of ${name}? It becomes the running plan.`, 'Restore'))) return;
        try {
          const r = await api.post(`/api/dialplans/${seg(name)}/versions/${v.version}/restore`);
          const fresh = await api.get(`/api/dialplans/${seg(name)}`);
          editor.value = fresh.content;
          showProblems([], '');
          setVersion(r.version);
          status.textContent = `Version ${v.version} restored as version ${r.version}.`;
          await loadVersions();
        } catch (err) {
          if (err instanceof ApiError && err.details.length) {
            status.textContent = `Version ${v.version} was not restored: it is not valid with the other files.`;
            showProblems(err.details.map((d) => ({ ...d, file: d.file || `${name} (version ${v.version})` })), `${err.message}:`);
          } else {
            showError(error, err);
          }
        }
      }, 'small'));
    replace(versions, h('h2', { id: 'versions-title', text: 'Versions' }),
      table('dialplan-versions', 'Versions', [
        { label: 'Version', value: (v) => String(v.version) },
        { label: 'Author', value: (v) => v.author },
        { label: 'Saved', value: (v) => time(v.created_at) },
        { label: 'Size', value: (v) => size(v.size ?? 0) },
        { label: 'Actions', value: actions, class: 'actions-cell' },
      ], list, (v) => ({ testid: 'dialplan-version-row', data: { version: String(v.version) } }), 'No saved versions yet.'),
      preview);
  };

  const del = button('Delete', 'dialplan-delete', async () => {
    if (!(await confirmDialog(`Delete the dialplan ${name}? Its file is removed; the history stays.`))) return;
    try {
      await api.del(`/api/dialplans/${seg(name)}`);
      notice(`Dialplan ${name} deleted.`);
      location.hash = '#/dialplans';
    } catch (err) {
      if (err instanceof ApiError && err.details.length) {
        showProblems(err.details, `Not deleted: ${err.message}`);
      } else {
        showError(error, err);
      }
    }
  }, 'danger');

  replace(view,
    header(`Dialplan ${name}`, versionInfo),
    error,
    h('label', { for: 'dialplan-content', class: 'block', text: 'Content (TOML)' }),
    editor.el,
    h('div', { class: 'actions' },
      button('Save', 'dialplan-save', () => submit(false), 'primary'),
      button('Check', 'dialplan-check', () => submit(true)),
      plan ? del : null,
      linkButton('#/dialplans', 'Back to the list', 'dialplan-back', 'button')),
    status,
    problems,
    versions,
    routeTest());
  await loadVersions();
}

/** The "test a route" form: what the running dialplan decides for a call, explained. */
function routeTest() {
  const result = h('div', { class: 'route-result', testid: 'route-result', hidden: true });
  const f = form('route', [
    { name: 'from', label: 'From', required: true, help: 'Caller: user or user@domain.' },
    { name: 'to', label: 'To', required: true, help: 'Dialed: a number, user or user@domain.' },
    { name: 'source', label: 'Source', help: 'user:NAME, trunk:NAME or unknown (default: the calling user).' },
    { name: 'at', label: 'Time', type: 'datetime-local', help: 'Default: now.' },
    { name: 'context', label: 'Start context', help: 'Default: the source’s context.' },
  ], null, 'Test', async (v) => {
    const body = { from: v.from, to: v.to };
    if (v.source) body.source = v.source;
    if (v.context) body.context = v.context;
    if (v.at) body.at = localToIso(v.at);
    const r = await api.post('/api/dialplans/test', body);
    replace(result,
      h('p', {}, 'Outcome: ', h('strong', { testid: 'route-outcome', text: String(r.outcome) })),
      h('pre', { class: 'code', testid: 'route-explanation', text: r.explanation || '' }));
    result.hidden = false;
  });
  return h('section', { class: 'route-test', 'aria-labelledby': 'route-test-title' },
    h('h2', { id: 'route-test-title', text: 'Test a route' }), f, result);
}
