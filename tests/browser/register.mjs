// Registers a JsSIP user agent running in headless Chromium over SIP over WebSocket
// (RFC 7118), once per URL given: waits for the `registered` event, checks the binding
// and its transport in the live API, sends an OPTIONS to the server and expects a
// 200, unregisters (the `unregistered` event) and checks the binding is gone.
//
// Usage: node register.mjs
// Environment:
//   SB_HTTP_URL         base URL of the server's HTTP API, e.g. http://127.0.0.1:8080
//   SB_ADMIN_NAME       an administrator account, and SB_ADMIN_PASSWORD its password
//   SB_USER             a SIP user as user@domain, and SB_USER_PASSWORD its password
//   SB_WS_URLS          WebSocket URLs to register over, comma-separated
//                       (ws://… and wss://…; a self-signed certificate is accepted)
//   CHROMIUM            the browser (default /usr/bin/chromium)
// Exits 0 when every check passed, 1 with the failed step and the reason otherwise. The
// browser is always closed and its profile directory removed.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  STEP_TIMEOUT_MS, bundle, check, eventually, launchChromium, login, registrations, runChecks,
} from './common.mjs';

function options() {
  const env = process.env;
  const o = {
    http: env.SB_HTTP_URL,
    admin: env.SB_ADMIN_NAME,
    adminPassword: env.SB_ADMIN_PASSWORD,
    user: env.SB_USER,
    password: env.SB_USER_PASSWORD,
    urls: (env.SB_WS_URLS || '').split(',').map((s) => s.trim()).filter(Boolean),
    chromium: env.CHROMIUM || '/usr/bin/chromium',
  };
  const missing = [['SB_HTTP_URL', o.http], ['SB_ADMIN_NAME', o.admin],
    ['SB_ADMIN_PASSWORD', o.adminPassword], ['SB_USER', o.user], ['SB_USER_PASSWORD', o.password],
    ['SB_WS_URLS', o.urls.length ? 'x' : '']].filter(([, v]) => !v).map(([n]) => n);
  if (missing.length) {
    console.error(`register.mjs: missing ${missing.join(', ')}`);
    process.exit(2);
  }
  o.http = o.http.replace(/\/+$/, '');
  return o;
}

// ---- In the page -------------------------------------------------------------------------

// Runs in the browser: starts a user agent over `url` and resolves once registered.
function startUserAgent({ url, uri, password, timeout }) {
  return new Promise((resolve) => {
    const JsSIP = window.JsSIP;
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(url)],
      uri,
      password,
      register: true,
      register_expires: 300,
      connection_recovery_min_interval: 30,
      connection_recovery_max_interval: 60,
      user_agent: 'JsSIP test (headless Chromium)',
    });
    window.ua = ua;
    const timer = setTimeout(() => resolve({ ok: false, reason: 'no registered event' }), timeout);
    ua.on('registered', () => {
      clearTimeout(timer);
      resolve({ ok: true });
    });
    ua.on('registrationFailed', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `registrationFailed: ${e.cause}` });
    });
    ua.start();
  });
}

// Runs in the browser: OPTIONS to `target`, resolves with the final status.
function sendOptions({ target, timeout }) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, reason: 'no answer to OPTIONS' }), timeout);
    window.ua.sendOptions(target, null, {
      eventHandlers: {
        succeeded: (e) => {
          clearTimeout(timer);
          resolve({ ok: true, status: e.response.status_code });
        },
        failed: (e) => {
          clearTimeout(timer);
          resolve({ ok: false, reason: `OPTIONS failed: ${e.cause}` });
        },
      },
    });
  });
}

// Runs in the browser: unregisters and resolves on the `unregistered` event.
function unregister({ timeout }) {
  return new Promise((resolve) => {
    const ua = window.ua;
    const timer = setTimeout(() => resolve({ ok: false, reason: 'no unregistered event' }), timeout);
    ua.on('unregistered', () => {
      clearTimeout(timer);
      ua.stop();
      resolve({ ok: true });
    });
    ua.unregister();
  });
}

// ---- The run -------------------------------------------------------------------------------

async function registerOver(browser, o, token, script, url) {
  const secure = url.startsWith('wss:');
  const transport = secure ? 'wss' : 'ws';
  const [user, domain] = o.user.split('@');
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.setContent('<!doctype html><title>JsSIP</title>');
    await page.addScriptTag({ content: script });
    const started = await page.evaluate(startUserAgent, {
      url, uri: `sip:${o.user}`, password: o.password, timeout: STEP_TIMEOUT_MS,
    });
    check(started.ok, `${url}: ${started.reason}`);
    const binding = await eventually(`${url}: the binding in the live API`, async () =>
      (await registrations(o, token)).find((r) => r.user === user && r.domain === domain));
    check(binding.transport === transport,
      `${url}: transport ${binding.transport}, expected ${transport}`);
    check(/\.invalid/.test(binding.contact), `${url}: contact ${binding.contact}`);
    const options = await page.evaluate(sendOptions, { target: `sip:${domain}`, timeout: STEP_TIMEOUT_MS });
    check(options.ok && options.status === 200, `${url}: ${options.reason || `OPTIONS got ${options.status}`}`);
    const gone = await page.evaluate(unregister, { timeout: STEP_TIMEOUT_MS });
    check(gone.ok, `${url}: ${gone.reason}`);
    await eventually(`${url}: the binding removed`, async () =>
      !(await registrations(o, token)).some((r) => r.user === user && r.domain === domain));
    console.log(`ok: registered, OPTIONS 200 and unregistered over ${url}`);
  } finally {
    await context.close();
  }
}

async function main(open) {
  const o = options();
  const script = bundle('jssip');
  const token = await login(o);
  open.profile = mkdtempSync(join(tmpdir(), 'sb-jssip-'));
  open.browser = await launchChromium({ executable: o.chromium, profile: open.profile });
  for (const url of o.urls) {
    await registerOver(open.browser, o, token, script, url);
  }
}

runChecks(main);
