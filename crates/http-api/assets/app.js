// The console's entry point: the shell (navigation, who is signed in), hash routes and the
// login page. Pages live in their own modules; each renders into <main> and may return a
// function that stops what it started (refresh timers) when another page opens.

import { api, clearSession, onUnauthorized, saveSession, session } from './api.js';
import { button, errorBox, h, replace, showError } from './ui.js';
import { usersPage, userFormPage } from './users.js';
import { resourceRoutes } from './resources.js';
import { dialplanListPage, dialplanEditorPage } from './dialplans.js';
import { cdrPage } from './cdrs.js';
import { livePage, myRegistrationsPage } from './live.js';
import { accessPage } from './access.js';

const ADMIN_NAV = [
  ['#/users', 'Users', 'nav-users'],
  ['#/groups', 'Groups', 'nav-groups'],
  ['#/acls', 'ACLs', 'nav-acls'],
  ['#/trunks', 'Trunks', 'nav-trunks'],
  ['#/dialplans', 'Dialplans', 'nav-dialplans'],
  ['#/cdrs', 'Call records', 'nav-cdrs'],
  ['#/live', 'Live', 'nav-live'],
  ['#/access', 'Access', 'nav-access'],
];

const USER_NAV = [
  ['#/my-calls', 'My calls', 'nav-my-calls'],
  ['#/my-registrations', 'My registrations', 'nav-my-registrations'],
];

// [pattern, page, role]: the groups of the pattern are passed to the page, decoded.
const ROUTES = [
  [/^\/users$/, usersPage, 'admin'],
  [/^\/users\/new$/, (main, q) => userFormPage(main, null, q), 'admin'],
  [/^\/users\/edit\/([^/]+)$/, (main, q, user) => userFormPage(main, user, q), 'admin'],
  ...resourceRoutes(),
  [/^\/dialplans$/, dialplanListPage, 'admin'],
  [/^\/dialplans\/edit\/([^/]+)$/, dialplanEditorPage, 'admin'],
  [/^\/cdrs$/, (main, q) => cdrPage(main, q, false), 'admin'],
  [/^\/live$/, livePage, 'admin'],
  [/^\/access$/, accessPage, 'admin'],
  [/^\/my-calls$/, (main, q) => cdrPage(main, q, true), 'user'],
  [/^\/my-registrations$/, myRegistrationsPage, 'user'],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let stopPage = null;
let routeGeneration = 0;
let loginMessage = '';

const homeOf = (s) => (s && s.role === 'admin' ? '#/users' : '#/my-calls');

onUnauthorized((message) => {
  loginMessage = message ? `Signed out: ${message}` : 'Your session has ended; sign in again.';
  if (location.hash !== '#/login') location.hash = '#/login';
  else if (!main.querySelector('[data-testid="login-form"]')) route();
});

function renderShell(s) {
  const signedIn = !!s;
  nav.hidden = !signedIn;
  who.hidden = !signedIn;
  if (!signedIn) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  const current = location.hash.split('?')[0];
  const links = (s.role === 'admin' ? ADMIN_NAV : USER_NAV).map(([href, text, testid]) =>
    h('li', {}, h('a', {
      href, text, testid,
      'aria-current': current === href || current.startsWith(`${href}/`) ? 'page' : undefined,
    })));
  replace(nav, h('ul', {}, links));
  const label = s.role === 'admin' ? `${s.name} (administrator)` : `${s.name}${s.domain ? `@${s.domain}` : ''}`;
  replace(who, h('span', { testid: 'session-name', text: label }), ' ', button('Sign out', 'logout', logout, 'link'));
}

async function logout() {
  try {
    await api.post('/api/logout');
  } catch {
    // The token may already be gone; signing out locally is what matters.
  }
  clearSession();
  loginMessage = 'Signed out.';
  location.hash = '#/login';
}

function loginPage() {
  const error = errorBox('login-error');
  const info = loginMessage ? h('p', { class: 'info', role: 'status', testid: 'login-message', text: loginMessage }) : null;
  loginMessage = '';
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true, testid: 'login-username' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Sign in', testid: 'login-submit' });
  const f = h('form', { class: 'form login', testid: 'login-form' },
    h('h1', { text: 'Sign in', testid: 'page-title' }),
    info,
    h('div', { class: 'field' }, h('label', { for: 'login-username', text: 'User name' }), user,
      h('p', { class: 'help', text: 'An administrator name, or a SIP user as user@domain.' })),
    h('div', { class: 'field' }, h('label', { for: 'login-password', text: 'Password' }), pass),
    error,
    h('div', { class: 'actions' }, submit));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(error, null);
    if (!user.value.trim() || !pass.value) {
      showError(error, new Error('Enter a user name and a password.'));
      return;
    }
    submit.disabled = true;
    try {
      const r = await api.post('/api/login', { username: user.value.trim(), password: pass.value });
      saveSession({ token: r.token, role: r.role, name: r.name, domain: r.domain || null, expires_at: r.expires_at });
      location.hash = homeOf(r);
    } catch (err) {
      showError(error, err);
      pass.select();
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, h('div', { class: 'page narrow' }, f));
  user.focus();
}

function decodeSegment(p) {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : raw.slice(at + 1));
  return { path, query };
}

async function route() {
  routeGeneration += 1;
  if (stopPage) {
    stopPage();
    stopPage = null;
  }
  const s = session();
  const { path, query } = parseHash();
  if (!s) {
    renderShell(null);
    if (path !== '/login') {
      location.hash = '#/login';
      return;
    }
    loginPage();
    return;
  }
  if (path === '/login' || path === '/') {
    location.hash = homeOf(s);
    return;
  }
  renderShell(s);
  const found = ROUTES.map(([re, page, role]) => [re.exec(path), page, role]).find(([m]) => m);
  if (!found || found[2] !== s.role) {
    const [title, why] = found
      ? ['Not available', 'This page is for administrators.']
      : ['Page not found', 'There is no such page here.'];
    replace(main, h('div', { class: 'page' },
      h('h1', { text: title, testid: 'page-title' }),
      h('p', {}, `${why} `, h('a', { href: homeOf(s), text: 'Go to the start page' }))));
    return;
  }
  const [m, page] = found;
  const args = m.slice(1).map(decodeSegment);
  // Each page renders into its own element: a page still loading when another one opens
  // writes into a detached element and is stopped as soon as it returns.
  const view = h('div', { class: 'page' });
  const generation = routeGeneration;
  replace(main, view);
  try {
    const stop = await page(view, query, ...args);
    if (typeof stop === 'function') {
      if (generation === routeGeneration) stopPage = stop;
      else stop();
    }
  } catch (err) {
    if (session() && generation === routeGeneration) {
      const box = errorBox('page-error');
      replace(view, h('h1', { text: 'Something went wrong', testid: 'page-title' }), box);
      showError(box, err);
    }
  }
}

// A notice set just before navigating ("User added") stays visible on the next page.
window.addEventListener('hashchange', route);

async function start() {
  const s = session();
  if (s) {
    try {
      const me = await api.get('/api/me');
      saveSession({ ...s, role: me.role, name: me.name, domain: me.domain || null });
    } catch {
      // A 401 has already returned to the login page; other errors show on the page itself.
      if (!session()) return;
    }
  }
  route();
}

start();
