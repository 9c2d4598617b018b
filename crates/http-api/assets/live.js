// Live state, refreshed every few seconds: registrations (remove a binding), calls in
// progress (hang up) and bans (lift one). A SIP user sees only their own registrations,
// read-only.

import { api, seg } from './api.js';
import {
  button, confirmDialog, duration, errorBox, every, h, header, notice, orDash, replace, showError,
  table, time,
} from './ui.js';

const REFRESH_MS = 3000;

function clock() {
  const d = new Date();
  return d.toLocaleTimeString();
}

function registrationsTable(regs, onRemove) {
  const columns = [
    { label: 'Address of record', value: (r) => r.aor },
    { label: 'Contact', value: (r) => r.contact },
    { label: 'Transport', value: (r) => orDash(r.transport && r.transport.toUpperCase()) },
    { label: 'Source', value: (r) => orDash(r.source) },
    { label: 'User agent', value: (r) => orDash(r.user_agent) },
    { label: 'Expires in', value: (r) => (r.expires_in != null ? `${r.expires_in} s` : time(r.expires_at)), class: 'num' },
  ];
  if (onRemove) {
    columns.push({
      label: 'Actions', class: 'actions-cell',
      value: (r) => button('Remove', 'registration-remove', () => onRemove(r), 'small danger'),
    });
  }
  return table('registrations-table', 'Registrations', columns, regs,
    (r) => ({ testid: 'registration-row', data: { aor: r.aor, binding: r.binding_id } }), 'No registrations.');
}

function legsText(legs) {
  if (!legs || !legs.length) return '—';
  return legs.map((l) => `${l.role}: ${l.peer} ${l.transport ? `(${l.transport})` : ''} ${l.state || ''}${l.codec ? ` ${l.codec}` : ''}`
    .replace(/\s+/g, ' ').trim()).join('; ');
}

function callsTable(calls, onHangUp) {
  return table('calls-table', 'Calls in progress', [
    { label: 'Caller', value: (c) => c.caller },
    { label: 'Callee', value: (c) => c.callee },
    { label: 'State', value: (c) => c.state },
    { label: 'Started', value: (c) => time(c.started_at) },
    { label: 'Duration', value: (c) => duration(c.duration), class: 'num' },
    { label: 'Legs', value: (c) => legsText(c.legs) },
    { label: 'Actions', class: 'actions-cell', value: (c) => button('Hang up', 'call-hangup', () => onHangUp(c), 'small danger') },
  ], calls, (c) => ({ testid: 'call-row', data: { id: c.id } }), 'No calls in progress.');
}

function bansTable(bans, onLift) {
  return table('bans-table', 'Bans', [
    { label: 'Kind', value: (b) => b.kind },
    { label: 'Source or user', value: (b) => b.key },
    { label: 'Reason', value: (b) => (b.reason === 'rate' ? 'message rate' : 'failed authentication') },
    { label: 'Since', value: (b) => time(b.since) },
    { label: 'Ends', value: (b) => time(b.expires) },
    { label: 'Dropped', value: (b) => String(b.drops), class: 'num' },
    { label: 'Actions', class: 'actions-cell', value: (b) => button('Lift', 'ban-lift', () => onLift(b), 'small') },
  ], bans, (b) => ({ testid: 'ban-row', data: { kind: b.kind, key: b.key } }), 'No bans.');
}

/** `#/live?user=` (admin) */
export function livePage(view, query) {
  const user = query.get('user') || '';
  const error = errorBox('page-error');
  const updated = h('span', { class: 'muted', testid: 'live-updated', role: 'status' });
  const regs = h('div', { testid: 'registrations' });
  const calls = h('div', { testid: 'calls' });
  const bans = h('div', { testid: 'bans' });
  const filter = h('input', { id: 'registrations-user', type: 'search', name: 'user', value: user, testid: 'registrations-user', placeholder: 'user or user@domain' });
  const filterForm = h('form', { class: 'toolbar', role: 'search' },
    h('label', { for: 'registrations-user', text: 'Only the user' }), filter,
    h('button', { type: 'submit', text: 'Filter', testid: 'registrations-filter' }));
  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const u = filter.value.trim();
    location.hash = u ? `#/live?user=${encodeURIComponent(u)}` : '#/live';
  });
  replace(view, header('Live', updated), error,
    h('section', { 'aria-labelledby': 'regs-title' }, h('h2', { id: 'regs-title', text: 'Registrations' }), filterForm, regs),
    h('section', { 'aria-labelledby': 'calls-title' }, h('h2', { id: 'calls-title', text: 'Calls in progress' }), calls),
    h('section', { 'aria-labelledby': 'bans-title' }, h('h2', { id: 'bans-title', text: 'Bans' }),
      h('p', { class: 'muted', text: 'Sources whose SIP messages are dropped (over their rate, or guessing passwords) and user names under watch.' }), bans));

  const load = async () => {
    try {
      const [r, c, b] = await Promise.all([
        api.get('/api/registrations', { user }), api.get('/api/calls'), api.get('/api/bans')]);
      replace(regs, registrationsTable(r, removeBinding));
      replace(calls, callsTable(c, hangUp));
      replace(bans, bansTable(b, liftBan));
      updated.textContent = `Updated ${clock()}`;
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  };
  const removeBinding = async (r) => {
    if (!(await confirmDialog(`Remove the registration of ${r.contact} for ${r.aor}?`, 'Remove'))) return;
    try {
      await api.del(`/api/registrations/${seg(r.aor)}/${seg(r.binding_id)}`);
      notice(`Registration of ${r.aor} removed.`);
    } catch (err) {
      showError(error, err);
    }
    await load();
  };
  const hangUp = async (c) => {
    if (!(await confirmDialog(`Hang up the call from ${c.caller} to ${c.callee}?`, 'Hang up'))) return;
    try {
      await api.del(`/api/calls/${seg(c.id)}`);
      notice('Call hung up.');
    } catch (err) {
      showError(error, err);
    }
    await load();
  };
  const liftBan = async (b) => {
    if (!(await confirmDialog(`Lift the ban on ${b.kind} ${b.key}?`, 'Lift'))) return;
    try {
      await api.del(`/api/bans/${seg(b.kind)}/${seg(b.key)}`);
      notice(`Ban on ${b.key} lifted.`);
    } catch (err) {
      showError(error, err);
    }
    await load();
  };
  return every(REFRESH_MS, load);
}

/** `#/my-registrations` (SIP user) */
export function myRegistrationsPage(view) {
  const error = errorBox('page-error');
  const updated = h('span', { class: 'muted', testid: 'live-updated', role: 'status' });
  const regs = h('div', { testid: 'registrations' });
  replace(view, header('My registrations', updated),
    h('p', { class: 'muted', text: 'The devices registered with your account right now.' }), error, regs);
  return every(REFRESH_MS, async () => {
    try {
      replace(regs, registrationsTable(await api.get('/api/registrations'), null));
      updated.textContent = `Updated ${clock()}`;
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  });
}
