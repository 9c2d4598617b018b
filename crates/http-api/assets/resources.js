// Named resources edited as a whole (PUT): call groups, ACLs and trunks. One list page and
// one form page per kind, described by a table below.

import { api, seg } from './api.js';
import {
  badge, button, confirmDialog, errorBox, every, form, h, header, linkButton, listText,
  notice, orDash, replace, showError, table, withoutNulls,
} from './ui.js';

const GROUP_FIELDS = [
  { name: 'name', label: 'Name', required: true, help: 'Letters, digits, dot, dash and underscore.', key: true },
  { name: 'description', label: 'Description' },
  { name: 'context', label: 'Dialplan context', help: 'Where calls of members start (unless the user has its own).' },
  { name: 'allow', label: 'Allowed numbers', type: 'list', rows: 2, help: 'Dialplan number patterns such as _00. or 911; empty = anything not denied.' },
  { name: 'deny', label: 'Denied numbers', type: 'list', rows: 2, help: 'Patterns refused with 403 Forbidden.' },
];

const ACL_FIELDS = [
  { name: 'name', label: 'Name', required: true, key: true },
  { name: 'description', label: 'Description' },
  { name: 'cidrs', label: 'Addresses', type: 'list', rows: 5, required: true, help: 'One address or network per line: 192.0.2.0/24, 2001:db8::1.' },
];

const TRUNK_FIELDS = [
  { name: 'name', label: 'Name', required: true, key: true },
  { name: 'gateway', label: 'Gateway', help: 'host:port of the provider, for outbound calls and registration.' },
  { name: 'transport', label: 'Transport', type: 'select', options: [['udp', 'UDP'], ['tcp', 'TCP']] },
  { name: 'addresses', label: 'Source addresses', type: 'list', rows: 3, help: 'Networks inbound calls from this trunk come from, one per line.' },
  { name: 'acl', label: 'ACL', type: 'select', options: [['', '(none)']], help: 'Accept inbound calls from the addresses of this ACL too.' },
  { name: 'context', label: 'Dialplan context', required: true, help: 'Where inbound calls from this trunk start.' },
  { name: 'username', label: 'User name', autocomplete: 'off', help: 'For digest authentication toward the provider.' },
  { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password' },
  { name: 'register', label: 'Register with the provider', type: 'checkbox', default: false },
  { name: 'register_expires', label: 'Registration interval (s)', type: 'number', min: 60, default: 3600 },
  { name: 'from_user', label: 'From user', help: 'User part of From on outbound calls (default: the caller).' },
  { name: 'from_domain', label: 'From domain' },
  { name: 'enabled', label: 'Enabled', type: 'checkbox', default: true },
];

function registrationBadge(t) {
  const st = t.state || {};
  const r = st.registration || 'not_registering';
  const kind = { registered: 'ok', registering: 'warn', failed: 'bad' }[r] || 'off';
  const text = r.replaceAll('_', ' ');
  const extra = [st.detail, st.expires_in != null ? `renews in ${st.expires_in} s` : null].filter(Boolean).join('; ');
  return h('span', {}, badge(text, kind, 'trunk-registration'), extra ? h('span', { class: 'muted', text: ` ${extra}` }) : null);
}

const KINDS = {
  groups: {
    title: 'Groups', one: 'group', api: '/api/groups', fields: GROUP_FIELDS,
    intro: 'Groups give their members a dialplan context and calling permissions.',
    columns: [
      { label: 'Name', value: (g) => g.name },
      { label: 'Description', value: (g) => orDash(g.description) },
      { label: 'Context', value: (g) => orDash(g.context) },
      { label: 'Allowed', value: (g) => listText(g.allow) },
      { label: 'Denied', value: (g) => listText(g.deny) },
      { label: 'Members', value: (g) => String(g.members ?? 0) },
    ],
  },
  acls: {
    title: 'ACLs', one: 'ACL', api: '/api/acls', fields: ACL_FIELDS,
    intro: 'Address lists, used by trunks and to restrict administrator access.',
    columns: [
      { label: 'Name', value: (a) => a.name },
      { label: 'Description', value: (a) => orDash(a.description) },
      { label: 'Addresses', value: (a) => listText(a.cidrs) },
      { label: 'Used by', value: (a) => listText(a.used_by) },
    ],
  },
  trunks: {
    title: 'Trunks', one: 'trunk', api: '/api/trunks', fields: TRUNK_FIELDS, refresh: 5000,
    intro: 'Connections to SIP providers. Trunks from the configuration file are read-only here.',
    readOnly: (t) => t.source === 'config',
    columns: [
      { label: 'Name', value: (t) => t.name },
      { label: 'Gateway', value: (t) => (t.gateway ? `${t.gateway} (${(t.transport || 'udp').toUpperCase()})` : '—') },
      { label: 'Context', value: (t) => orDash(t.context) },
      { label: 'Registration', value: registrationBadge },
      { label: 'Status', value: (t) => (t.enabled ? badge('enabled', 'ok') : badge('disabled', 'off')) },
      { label: 'Source', value: (t) => (t.source === 'config' ? badge('config file', 'off') : 'console/API') },
    ],
  },
};

/** The routes of the three kinds, for the router. */
export function resourceRoutes() {
  return Object.keys(KINDS).flatMap((kind) => [
    [new RegExp(`^/${kind}$`), (view) => listPage(view, kind), 'admin'],
    [new RegExp(`^/${kind}/new$`), (view) => formPage(view, kind, null), 'admin'],
    [new RegExp(`^/${kind}/edit/([^/]+)$`), (view, q, name) => formPage(view, kind, name), 'admin'],
  ]);
}

async function listPage(view, kind) {
  const k = KINDS[kind];
  const one = kind.slice(0, -1);
  const error = errorBox('page-error');
  const list = h('div', { testid: `${kind}-list` });
  replace(view,
    header(k.title, linkButton(`#/${kind}/new`, `Add ${k.one}`, `${kind}-add`, 'button primary')),
    h('p', { class: 'muted', text: k.intro }), error, list);
  const load = async () => {
    try {
      const items = await api.get(k.api);
      showError(error, null);
      render(items);
    } catch (err) {
      showError(error, err);
    }
  };
  const actions = (item) => {
    if (k.readOnly && k.readOnly(item)) return h('span', { class: 'muted', text: 'read-only' });
    return h('div', { class: 'row-actions' },
      linkButton(`#/${kind}/edit/${seg(item.name)}`, 'Edit', `${one}-edit`, 'button small'),
      button('Delete', `${one}-delete`, async () => {
        if (!(await confirmDialog(`Delete the ${k.one} ${item.name}?`))) return;
        try {
          await api.del(`${k.api}/${seg(item.name)}`);
          notice(`The ${k.one} ${item.name} was deleted.`);
          await load();
        } catch (err) {
          showError(error, err);
        }
      }, 'small danger'));
  };
  const render = (items) => replace(list, table(`${kind}-table`, k.title,
    [...k.columns, { label: 'Actions', value: actions, class: 'actions-cell' }], items,
    (item) => ({ testid: `${one}-row`, data: { name: item.name } }), `No ${kind} yet.`));
  if (k.refresh) return every(k.refresh, load);
  await load();
  return null;
}

async function formPage(view, kind, name) {
  const k = KINDS[kind];
  const one = kind.slice(0, -1);
  const error = errorBox('page-error');
  replace(view, header(name ? `Edit ${k.one} ${name}` : `Add ${k.one}`), error);
  let fields = k.fields.map((f) => ({ ...f }));
  let original = null;
  try {
    if (name) original = await api.get(`${k.api}/${seg(name)}`);
    if (kind === 'trunks') fields = await trunkFields(fields, original);
  } catch (err) {
    showError(error, err);
    return;
  }
  if (original) {
    fields = fields.map((f) => (f.key ? { ...f, readonly: true } : f));
  }
  const cancel = linkButton(`#/${kind}`, 'Cancel', `${one}-cancel`, 'button');
  const f = form(one, fields, original, name ? 'Save' : `Add ${k.one}`, async (values) => {
    const body = toBody(kind, values, !!original);
    if (original) await api.put(`${k.api}/${seg(original.name)}`, body);
    else await api.post(k.api, body);
    notice(`The ${k.one} ${values.name} was ${original ? 'saved' : 'added'}.`);
    location.hash = `#/${kind}`;
  }, [cancel]);
  replace(view, header(name ? `Edit ${k.one} ${name}` : `Add ${k.one}`), f);
}

async function trunkFields(fields, original) {
  const acls = await api.get('/api/acls');
  return fields.map((f) => {
    if (f.name === 'acl') return { ...f, options: [['', '(none)'], ...acls.map((a) => [a.name, a.name])] };
    if (f.name === 'password' && original) {
      return {
        ...f,
        help: original.password_set ? 'Stored; leave empty to keep it.' : 'None stored.',
        placeholder: original.password_set ? '(unchanged)' : undefined,
      };
    }
    return f;
  });
}

/**
 * The request body: everything on PUT (the resource is replaced; optional text fields
 * empty = null), absent values left out on POST. A trunk's password is sent only when typed.
 */
function toBody(kind, values, replacing) {
  const body = { ...values };
  if (kind === 'trunks') {
    if (!body.password) delete body.password;
    if (!body.acl) body.acl = null;
    if (body.register_expires === null) delete body.register_expires;
  }
  return replacing ? body : withoutNulls(body);
}
