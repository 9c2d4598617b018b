// Access: administrator accounts and the signed-in administrator's API tokens (a new token
// is shown once, right after it is created).

import { api, seg, session } from './api.js';
import {
  badge, button, confirmDialog, errorBox, form, h, header, notice, replace, showError, table, time,
} from './ui.js';

/** `#/access` */
export async function accessPage(view) {
  const error = errorBox('page-error');
  const admins = h('section', { 'aria-labelledby': 'admins-title', testid: 'admins-section' });
  const tokens = h('section', { 'aria-labelledby': 'tokens-title', testid: 'tokens-section' });
  replace(view, header('Access'), error, admins, tokens);

  const loadAdmins = async () => {
    const list = await api.get('/api/admins');
    const me = session() && session().name;
    const actions = (a) => h('div', { class: 'row-actions' },
      button(a.enabled ? 'Disable' : 'Enable', 'admin-toggle', async () => {
        try {
          await api.patch(`/api/admins/${seg(a.name)}`, { enabled: !a.enabled });
          await loadAdmins();
        } catch (err) {
          showError(error, err);
        }
      }, 'small'),
      button('Delete', 'admin-delete', async () => {
        const warn = a.name === me ? ' This is your own account.' : '';
        if (!(await confirmDialog(`Delete the administrator ${a.name}?${warn}`))) return;
        try {
          await api.del(`/api/admins/${seg(a.name)}`);
          notice(`Administrator ${a.name} deleted.`);
          await loadAdmins();
        } catch (err) {
          showError(error, err);
        }
      }, 'small danger'));
    const add = form('admin', [
      { name: 'name', label: 'Name', required: true, autocomplete: 'off' },
      { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', help: 'At least 8 characters.' },
    ], null, 'Add administrator', async (v) => {
      await api.post('/api/admins', { name: v.name, password: v.password });
      notice(`Administrator ${v.name} added.`);
      await loadAdmins();
    });
    const password = form('my-password', [
      { name: 'password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password' },
    ], null, 'Change my password', async (v) => {
      await api.patch(`/api/admins/${seg(me)}`, { password: v.password });
      notice('Your password was changed.');
      await loadAdmins();
    });
    replace(admins, h('h2', { id: 'admins-title', text: 'Administrators' }),
      table('admins-table', 'Administrators', [
        { label: 'Name', value: (a) => a.name },
        { label: 'Status', value: (a) => (a.enabled ? badge('enabled', 'ok') : badge('disabled', 'off')) },
        { label: 'Created', value: (a) => time(a.created_at) },
        { label: 'Actions', value: actions, class: 'actions-cell' },
      ], list, (a) => ({ testid: 'admin-row', data: { name: a.name } })),
      h('details', {}, h('summary', { text: 'Add an administrator' }), add),
      h('details', {}, h('summary', { text: 'Change my password' }), password));
  };

  const loadTokens = async (fresh) => {
    const list = await api.get('/api/tokens');
    const shown = fresh
      ? h('div', { class: 'secret', role: 'status', testid: 'token-created' },
        h('p', { text: `Token “${fresh.name}” created. Copy it now: it is not shown again.` }),
        h('code', { testid: 'token-value', text: fresh.token }))
      : null;
    const add = form('token', [
      { name: 'name', label: 'Name', required: true, help: 'What uses it, e.g. “billing export”.' },
      { name: 'expires_in_days', label: 'Expires after (days)', type: 'number', min: 1, help: 'Empty = never.' },
    ], null, 'Create token', async (v) => {
      const body = { name: v.name };
      if (v.expires_in_days !== null) body.expires_in_days = v.expires_in_days;
      const created = await api.post('/api/tokens', body);
      await loadTokens(created);
    });
    replace(tokens, h('h2', { id: 'tokens-title', text: 'My API tokens' }), shown,
      table('tokens-table', 'API tokens', [
        { label: 'Name', value: (t) => t.name || '—' },
        { label: 'Created', value: (t) => time(t.created_at) },
        { label: 'Expires', value: (t) => (t.expires_at ? time(t.expires_at) : 'never') },
        { label: 'Last used', value: (t) => (t.last_used_at ? time(t.last_used_at) : 'never') },
        {
          label: 'Actions', class: 'actions-cell', value: (t) => button('Revoke', 'token-delete', async () => {
            if (!(await confirmDialog(`Revoke the token ${t.name || t.id}? Programs using it lose access.`, 'Revoke'))) return;
            try {
              await api.del(`/api/tokens/${seg(String(t.id))}`);
              await loadTokens();
            } catch (err) {
              showError(error, err);
            }
          }, 'small danger'),
        },
      ], list, (t) => ({ testid: 'token-row', data: { id: String(t.id) } }), 'No API tokens.'),
      h('details', {}, h('summary', { text: 'Create a token' }), add));
  };

  try {
    await Promise.all([loadAdmins(), loadTokens()]);
  } catch (err) {
    showError(error, err);
  }
}
