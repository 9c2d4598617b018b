// Users: the searchable, paged list (enable/disable, delete) and the add/edit form.

import { api, seg } from './api.js';
import {
  badge, button, changed, confirmDialog, errorBox, form, h, header, linkButton, listText,
  notice, orDash, replace, showError, table, withoutNulls,
} from './ui.js';

const PAGE = 50;

const ident = (u) => `${u.username}@${u.domain}`;

/** `#/users?search=&offset=` */
export async function usersPage(view, query) {
  const search = query.get('search') || '';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const input = h('input', { id: 'users-search', type: 'search', name: 'search', value: search, testid: 'users-search', placeholder: 'Name, display name or extension' });
  const searchForm = h('form', { class: 'toolbar', role: 'search', testid: 'users-search-form' },
    h('label', { for: 'users-search', text: 'Search users' }), input,
    h('button', { type: 'submit', text: 'Search', testid: 'users-search-submit' }));
  searchForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    location.hash = q ? `#/users?search=${encodeURIComponent(q)}` : '#/users';
  });
  const error = errorBox('page-error');
  const list = h('div', { testid: 'users-list' });
  replace(view, header('Users', linkButton('#/users/new', 'Add user', 'users-add', 'button primary')),
    searchForm, error, list);

  const load = async () => {
    const page = await api.get('/api/users', { search, limit: PAGE, offset });
    renderList(list, page, search, offset, load, error);
  };
  try {
    await load();
  } catch (err) {
    showError(error, err);
  }
}

function pageHref(search, offset) {
  const params = new URLSearchParams();
  if (search) params.set('search', search);
  if (offset) params.set('offset', String(offset));
  const q = params.toString();
  return q ? `#/users?${q}` : '#/users';
}

function renderList(list, page, search, offset, reload, error) {
  const users = page.items || [];
  const total = page.total ?? users.length;
  const act = (u) => h('div', { class: 'row-actions' },
    linkButton(`#/users/edit/${seg(ident(u))}`, 'Edit', 'user-edit', 'button small'),
    button(u.enabled ? 'Disable' : 'Enable', 'user-toggle', async () => {
      try {
        await api.patch(`/api/users/${seg(ident(u))}`, { enabled: !u.enabled });
        notice(`${ident(u)} ${u.enabled ? 'disabled' : 'enabled'}.`);
        await reload();
      } catch (err) {
        showError(error, err);
      }
    }, 'small'),
    button('Delete', 'user-delete', async () => {
      if (!(await confirmDialog(`Delete the user ${ident(u)}? Its registrations and sessions end.`))) return;
      try {
        await api.del(`/api/users/${seg(ident(u))}`);
        notice(`${ident(u)} deleted.`);
        await reload();
      } catch (err) {
        showError(error, err);
      }
    }, 'small danger'));
  const columns = [
    { label: 'User', value: (u) => ident(u) },
    { label: 'Display name', value: (u) => orDash(u.display_name) },
    { label: 'Extension', value: (u) => orDash(u.extension) },
    { label: 'Groups', value: (u) => listText(u.groups) },
    { label: 'Context', value: (u) => orDash(u.context) },
    { label: 'Status', value: (u) => (u.enabled ? badge('enabled', 'ok') : badge('disabled', 'off')) },
    { label: 'Actions', value: act, class: 'actions-cell' },
  ];
  const first = users.length ? offset + 1 : 0;
  const last = offset + users.length;
  const prev = offset > 0 ? linkButton(pageHref(search, Math.max(0, offset - PAGE)), 'Previous', 'users-prev', 'button small') : null;
  const next = last < total ? linkButton(pageHref(search, last), 'Next', 'users-next', 'button small') : null;
  replace(list,
    table('users-table', 'Users', columns, users,
      (u) => ({ testid: 'user-row', data: { user: ident(u) } }),
      search ? `No user matches “${search}”.` : 'No users yet.'),
    h('div', { class: 'pager' },
      h('span', { testid: 'users-total', text: `${first}–${last} of ${total}` }), prev, next));
}

const FIELDS_NEW = [
  { name: 'username', label: 'User name', required: true, autocomplete: 'off' },
  { name: 'domain', label: 'Domain', help: 'Leave empty for the default domain.', autocomplete: 'off' },
  { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', help: 'At least 8 characters.' },
];

const FIELDS_COMMON = [
  { name: 'display_name', label: 'Display name' },
  { name: 'extension', label: 'Extension', help: '1–15 digits (or * and #); unique in the domain.' },
  { name: 'enabled', label: 'Enabled', type: 'checkbox', default: true },
  { name: 'groups', label: 'Groups', type: 'list', rows: 2, help: 'Group names, one per line or separated by commas.' },
  { name: 'context', label: 'Dialplan context', help: 'Where this user’s calls start; empty = from the groups or the default.' },
  { name: 'allow', label: 'Allowed numbers', type: 'list', rows: 2, help: 'Dialplan number patterns such as _00. or 911; empty = anything not denied.' },
  { name: 'deny', label: 'Denied numbers', type: 'list', rows: 2, help: 'Patterns refused with 403 Forbidden.' },
];

const FIELDS_EDIT_PASSWORD = [
  { name: 'password', label: 'New password', type: 'password', autocomplete: 'new-password', help: 'Leave empty to keep the current password.' },
];

/** `#/users/new` and `#/users/edit/{user}` */
export async function userFormPage(view, user) {
  const cancel = linkButton('#/users', 'Cancel', 'user-cancel', 'button');
  if (!user) {
    replace(view, header('Add user'), form('user', [...FIELDS_NEW, ...FIELDS_COMMON], null, 'Add user', async (v) => {
      const created = await api.post('/api/users', withoutNulls(v));
      notice(`User ${ident(created)} added.`);
      location.hash = `#/users?search=${encodeURIComponent(created.username)}`;
    }, [cancel]));
    view.querySelector('input').focus();
    return;
  }
  const error = errorBox('page-error');
  replace(view, header(`Edit ${user}`), error);
  let original;
  try {
    original = await api.get(`/api/users/${seg(user)}`);
  } catch (err) {
    showError(error, err);
    return;
  }
  const f = form('user', [...FIELDS_COMMON, ...FIELDS_EDIT_PASSWORD], original, 'Save', async (v) => {
    const { password, ...rest } = v;
    const body = changed(rest, original);
    if (password) body.password = password;
    if (Object.keys(body).length === 0) {
      notice('Nothing changed.');
      location.hash = '#/users';
      return;
    }
    const saved = await api.patch(`/api/users/${seg(ident(original))}`, body);
    notice(`User ${ident(saved)} saved.`);
    location.hash = `#/users?search=${encodeURIComponent(saved.username)}`;
  }, [cancel]);
  replace(view, header(`Edit ${ident(original)}`), f);
}
