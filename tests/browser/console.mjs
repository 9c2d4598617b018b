// Drives the switchboard web console in headless Chromium, as an administrator would, and
// checks every result through the REST API as well:
//   sign in (a wrong password first), add a user through the form (a too-short password
//   first) and disable it, save a dialplan with an error and see the error at its line,
//   save a valid one, test a route, search call records by caller (paging with "more",
//   the per-day summary) and download them as CSV, sign out; then a SIP user signs in and
//   sees only "my calls" and "my registrations".
//
// Usage: node console.mjs [--base-url URL] [--admin NAME] [--password PASSWORD]
// Environment (the options win):
//   SB_CONSOLE_URL      base URL of the server, e.g. http://127.0.0.1:8080
//   SB_ADMIN_NAME       an administrator account
//   SB_ADMIN_PASSWORD   its password
//   SB_DIALPLAN         an existing dialplan to edit (default: main); it is replaced
//   SB_CDR_CALLER       a caller with call records in the database
//   SB_CDR_CALL_IDS     the Call-IDs of exactly that caller's records, newest first, comma-separated
//   SB_USER             a SIP user as user@domain, and SB_USER_PASSWORD its password
//   SB_USER_CALL_IDS    the Call-IDs of every record where that user is caller or callee, newest first
//   SB_ARTIFACTS        optional directory: a screenshot and the page's HTML on failure
//   CHROMIUM            the browser (default /usr/bin/chromium)
// Exits 0 when every check passed, 1 with the failed step and the reason otherwise. The
// browser is always closed and its profile directory removed.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const STEP_TIMEOUT_MS = 15_000;

const list = (text) => (text || '').split(',').map((s) => s.trim()).filter(Boolean);

function options() {
  const args = process.argv.slice(2);
  const opt = (flag, env) => {
    const i = args.indexOf(flag);
    if (i >= 0 && i + 1 < args.length) return args[i + 1];
    const eq = args.find((a) => a.startsWith(`${flag}=`));
    return eq ? eq.slice(flag.length + 1) : process.env[env];
  };
  const o = {
    base: opt('--base-url', 'SB_CONSOLE_URL'),
    admin: opt('--admin', 'SB_ADMIN_NAME'),
    password: opt('--password', 'SB_ADMIN_PASSWORD'),
    dialplan: process.env.SB_DIALPLAN || 'main',
    cdrCaller: process.env.SB_CDR_CALLER,
    cdrIds: list(process.env.SB_CDR_CALL_IDS),
    user: process.env.SB_USER,
    userPassword: process.env.SB_USER_PASSWORD,
    userIds: list(process.env.SB_USER_CALL_IDS),
    artifacts: process.env.SB_ARTIFACTS,
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  };
  const missing = [['base URL (--base-url or SB_CONSOLE_URL)', o.base], ['administrator (--admin or SB_ADMIN_NAME)', o.admin],
    ['password (--password or SB_ADMIN_PASSWORD)', o.password], ['SB_CDR_CALLER', o.cdrCaller],
    ['SB_CDR_CALL_IDS', o.cdrIds.length ? 'x' : ''], ['SB_USER', o.user], ['SB_USER_PASSWORD', o.userPassword],
    ['SB_USER_CALL_IDS', o.userIds.length ? 'x' : '']].filter(([, v]) => !v).map(([n]) => n);
  if (missing.length) {
    console.error(`console.mjs: missing ${missing.join(', ')}`);
    process.exit(2);
  }
  o.base = o.base.replace(/\/+$/, '');
  return o;
}

class CheckFailed extends Error {}

function check(cond, message) {
  if (!cond) throw new CheckFailed(message);
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

// A dialplan whose rule at line 6 has a broken number pattern (column 9).
const BROKEN = `[[context]]
name = "internal"

[[context.rule]]
name = "broken"
to = "_1["
actions = ["echo"]
`;
const BROKEN_LINE = 6;

const VALID = `[[context]]
name = "internal"

[[context.rule]]
name = "four digits"
to = "_1XXX"
actions = [{ ring_user = "\${to}" }]

[[context.rule]]
name = "operator"
to = "0"
actions = [{ ring_user = "operator" }]
`;

/** Minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\n') { row.push(field.replace(/\r$/, '')); rows.push(row); row = []; field = ''; } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

async function main() {
  const o = options();
  const profile = mkdtempSync(join(tmpdir(), 'sb-console-'));
  const downloads = mkdtempSync(join(tmpdir(), 'sb-console-dl-'));
  let browser = null;
  let page = null;
  let current = 'start the browser';
  const problems = [];
  const cleanup = async () => {
    if (browser) {
      const b = browser;
      browser = null;
      await b.close().catch(() => {});
    }
    rmSync(profile, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      console.error(`console.mjs: ${sig} during "${current}"; closing the browser`);
      cleanup().finally(() => process.exit(1));
    });
  }

  const step = async (name, fn) => {
    current = name;
    const t0 = Date.now();
    await fn();
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  };

  try {
    browser = await chromium.launch({
      executablePath: o.chromium,
      ignoreDefaultArgs: true,
      timeout: 30_000,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-default-apps', '--disable-extensions', '--disable-breakpad', '--disable-crash-reporter',
        '--remote-debugging-pipe',
        `--user-data-dir=${profile}`,
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
        'about:blank',
      ],
    });
    const context = await browser.newContext({ acceptDownloads: true, ignoreHTTPSErrors: true });
    page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (e) => problems.push(`uncaught error in the page: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) {
        problems.push(`CSP violation: ${m.text()}`);
      }
    });
    const byId = (id) => page.getByTestId(id);
    const text = async (id) => (await byId(id).textContent()) || '';
    const token = () => page.evaluate(() => JSON.parse(sessionStorage.getItem('switchboard.session')).token);
    const apiGet = async (path) => {
      const res = await fetch(`${o.base}${path}`, { headers: { Authorization: `Bearer ${await token()}`, Accept: 'application/json' } });
      if (!res.ok) throw new CheckFailed(`GET ${path} answered ${res.status}: ${await res.text()}`);
      return res.json();
    };

    await step('a wrong password is refused with the API\'s message', async () => {
      const res = await page.goto(`${o.base}/`);
      check(res && res.ok(), `GET / answered ${res && res.status()}`);
      const csp = (await res.allHeaders())['content-security-policy'] || '';
      check(csp.includes("default-src 'self'"), `the console is served with CSP default-src 'self', got "${csp}"`);
      await byId('login-username').fill(o.admin);
      await byId('login-password').fill(`${o.password}-wrong`);
      await byId('login-submit').click();
      await byId('login-error').waitFor();
      const msg = await text('login-error');
      check(/invalid credentials/i.test(msg), `the login error shows the API's message, got "${msg}"`);
    });

    await step('sign in as administrator', async () => {
      await byId('login-password').fill(o.password);
      await byId('login-submit').click();
      await byId('nav-users').waitFor();
      eq(await text('page-title'), 'Users', 'page after sign-in');
      check((await text('session-name')).includes(o.admin), 'the header names the administrator');
      check((await token()).length > 10, 'the token is kept in sessionStorage');
    });

    let userId = '';
    await step('add a user through the form; a bad field is shown at the field', async () => {
      await byId('users-add').click();
      await byId('user-username').fill('carol');
      await byId('user-password').fill('short');
      await byId('user-display-name').fill('Carol Example');
      await byId('user-extension').fill('2001');
      await byId('user-groups').fill('sales, support');
      await byId('user-save').click();
      await byId('user-error').waitFor();
      check((await text('user-error')).length > 0, 'the form shows the error message');
      eq(await byId('user-password').getAttribute('aria-invalid'), 'true', 'the password field is marked invalid');
      await byId('user-password-error').waitFor();
      await byId('user-password').fill('carol-secret-1');
      await byId('user-save').click();
      const row = page.locator('[data-testid="user-row"][data-user^="carol@"]');
      await row.waitFor();
      userId = await row.getAttribute('data-user');
      check((await text('notice')).includes(`User ${userId} added`), 'a notice confirms the new user');
      const u = await apiGet(`/api/users/${encodeURIComponent(userId)}`);
      eq([u.username, u.display_name, u.extension, u.enabled, u.groups], ['carol', 'Carol Example', '2001', true, ['sales', 'support']], 'the user as the API returns it');
    });

    await step('disable the user from the list', async () => {
      const row = page.locator(`[data-testid="user-row"][data-user="${userId}"]`);
      await row.getByTestId('user-toggle').click();
      await row.getByText('disabled', { exact: true }).waitFor();
      const u = await apiGet(`/api/users/${encodeURIComponent(userId)}`);
      eq(u.enabled, false, 'enabled after "Disable"');
    });

    let planName = o.dialplan;
    let before = '';
    await step(`open the dialplan ${o.dialplan}`, async () => {
      await byId('nav-dialplans').click();
      await byId('dialplans-table').waitFor();
      const names = await page.locator('[data-testid="dialplan-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
      planName = names.find((n) => n === o.dialplan || n === `${o.dialplan}.toml`);
      check(planName, `the dialplan list shows ${o.dialplan}, it has ${JSON.stringify(names)}`);
      before = (await apiGet(`/api/dialplans/${encodeURIComponent(planName)}`)).content;
      await page.locator(`[data-testid="dialplan-row"][data-name="${planName}"]`).getByTestId('dialplan-open').click();
      await byId('dialplan-content').waitFor();
      eq(await byId('dialplan-content').inputValue(), before, 'the editor shows the file');
    });

    await step('a dialplan with an error is refused, the error shown at its line', async () => {
      await byId('dialplan-content').fill(BROKEN);
      await byId('dialplan-save').click();
      const item = page.locator(`[data-testid="dialplan-error"][data-line="${BROKEN_LINE}"]`);
      await item.waitFor();
      const itemText = await item.textContent();
      check(itemText.includes(`line ${BROKEN_LINE}`), `the error names line ${BROKEN_LINE}: "${itemText}"`);
      const gutter = page.locator(`[data-testid="gutter-line"][data-line="${BROKEN_LINE}"]`);
      check((await gutter.getAttribute('class')).split(' ').includes('error'), `gutter line ${BROKEN_LINE} is marked`);
      check((await gutter.textContent()).includes(String(BROKEN_LINE)), 'the marked gutter line shows its number');
      const marked = await page.locator('[data-testid="gutter-line"].error').evaluateAll((ls) => ls.map((l) => l.dataset.line));
      eq(marked, [String(BROKEN_LINE)], 'marked gutter lines');
      eq(await page.locator('[data-testid="marked-line"]').evaluateAll((ls) => ls.map((l) => l.dataset.line)), [String(BROKEN_LINE)], 'highlighted editor lines');
      check(/not saved/i.test(await text('dialplan-status')), 'the status says it was not saved');
      eq((await apiGet(`/api/dialplans/${encodeURIComponent(planName)}`)).content, before, 'the file after a refused save');
      // The error's link puts the cursor on that line.
      await item.getByTestId('dialplan-error-goto').click();
      const caretLine = await byId('dialplan-content').evaluate((ta) => ta.value.slice(0, ta.selectionStart).split('\n').length);
      eq(caretLine, BROKEN_LINE, 'line selected by the error link');
    });

    await step('a valid dialplan is saved and recorded as a version', async () => {
      const versionsBefore = (await apiGet(`/api/dialplans/${encodeURIComponent(planName)}/versions`)).length;
      await byId('dialplan-content').fill(VALID);
      await byId('dialplan-save').click();
      await page.waitForFunction(() => /Saved as version/.test(document.querySelector('[data-testid="dialplan-status"]').textContent));
      check(await byId('dialplan-problems').isHidden(), 'no problems listed after a good save');
      eq(await page.locator('[data-testid="gutter-line"].error').count(), 0, 'marked lines after a good save');
      const plan = await apiGet(`/api/dialplans/${encodeURIComponent(planName)}`);
      eq(plan.content, VALID, 'the file after saving');
      const versions = await apiGet(`/api/dialplans/${encodeURIComponent(planName)}/versions`);
      eq(versions.length, versionsBefore + 1, 'number of versions');
      await page.locator(`[data-testid="dialplan-version-row"][data-version="${versions[0].version}"]`).waitFor();
    });

    await step('test a route against the running dialplan', async () => {
      await byId('route-from').fill('alice');
      await byId('route-to').fill('1234');
      await byId('route-save').click();
      await byId('route-explanation').waitFor();
      const explanation = await text('route-explanation');
      check(explanation.includes('four digits'), `the explanation names the rule: "${explanation}"`);
    });

    await step(`search call records of ${o.cdrCaller}, page by page`, async () => {
      await byId('nav-cdrs').click();
      await byId('cdr-table').waitFor();
      // The unfiltered table is marked so that the wait below sees the searched one.
      await byId('cdr-table').evaluate((t) => { t.dataset.stale = 'yes'; });
      await byId('cdr-caller').fill(o.cdrCaller);
      await byId('cdr-limit').selectOption('10');
      await byId('cdr-search').click();
      await page.locator('[data-testid="cdr-table"]:not([data-stale])').waitFor();
      eq(new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('caller'), o.cdrCaller, 'caller filter in the page address');
      const ids = () => page.locator('[data-testid="cdr-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.callId));
      eq(await ids(), o.cdrIds.slice(0, 10), 'first page of call records');
      let pages = 1;
      while (await byId('cdr-more').isVisible()) {
        const shown = (await ids()).length;
        await byId('cdr-more').click();
        await page.waitForFunction((n) => document.querySelectorAll('[data-testid="cdr-row"]').length > n, shown);
        pages += 1;
        check(pages <= 100, 'more than 100 pages');
      }
      eq(await ids(), o.cdrIds, 'every call record of the caller, newest first');
      eq(pages, Math.max(1, Math.ceil(o.cdrIds.length / 10)), 'pages of 10');
      await byId('cdr-summary-total').waitFor();
      const total = await text('cdr-summary-total');
      check(total.startsWith(`${o.cdrIds.length} calls`), `the per-day summary counts ${o.cdrIds.length} calls: "${total}"`);
    });

    await step('download the same call records as CSV', async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), byId('cdr-csv').click()]);
      const file = join(downloads, 'cdrs.csv');
      await download.saveAs(file);
      const rows = parseCsv(readFileSync(file, 'utf8'));
      const col = rows[0].indexOf('call_id');
      check(col >= 0, `the CSV header has call_id: ${rows[0].join(',')}`);
      eq(rows.slice(1).map((r) => r[col]).sort(), [...o.cdrIds].sort(), 'Call-IDs in the CSV');
      check(/\.csv$/.test(download.suggestedFilename()), `a .csv file name: ${download.suggestedFilename()}`);
    });

    await step('sign out: the token is revoked', async () => {
      const old = await token();
      await byId('logout').click();
      await byId('login-form').waitFor();
      eq(await page.evaluate(() => sessionStorage.getItem('switchboard.session')), null, 'session after sign-out');
      const res = await fetch(`${o.base}/api/me`, { headers: { Authorization: `Bearer ${old}` } });
      eq(res.status, 401, 'status of a request with the old token');
    });

    await step(`a SIP user (${o.user}) sees only their calls and registrations`, async () => {
      await byId('login-username').fill(o.user);
      await byId('login-password').fill(o.userPassword);
      await byId('login-submit').click();
      await byId('cdr-table').waitFor();
      eq(await text('page-title'), 'My calls', 'page after a SIP user signs in');
      const nav = await page.locator('#nav a').evaluateAll((as) => as.map((a) => a.dataset.testid));
      eq(nav, ['nav-my-calls', 'nav-my-registrations'], 'navigation of a SIP user');
      const ids = await page.locator('[data-testid="cdr-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.callId));
      eq(ids, o.userIds, 'the SIP user\'s call records');
      await byId('nav-my-registrations').click();
      await byId('registrations-table').waitFor();
      eq(await byId('registration-remove').count(), 0, 'remove buttons for a SIP user');
      await page.goto(`${o.base}/#/users`);
      await page.waitForFunction(() => document.querySelector('[data-testid="page-title"]')?.textContent === 'Not available');
      const res = await fetch(`${o.base}/api/users`, { headers: { Authorization: `Bearer ${await token()}` } });
      eq(res.status, 403, 'status of GET /api/users for a SIP user');
      await byId('logout').click();
      await byId('login-form').waitFor();
    });

    await step('a rejected token returns to the sign-in page', async () => {
      await page.evaluate(() => sessionStorage.setItem('switchboard.session',
        JSON.stringify({ token: 'sbs_not-a-valid-token', role: 'admin', name: 'nobody' })));
      await page.goto(`${o.base}/#/users`);
      await byId('login-form').waitFor();
      await byId('login-message').waitFor();
      eq(await page.evaluate(() => sessionStorage.getItem('switchboard.session')), null, 'session after a 401');
    });

    check(problems.length === 0, problems.join('\n'));
    console.log('console: every check passed');
  } catch (err) {
    const reason = err instanceof CheckFailed ? err.message : (err && err.stack) || String(err);
    console.error(`FAILED at "${current}": ${reason}`);
    if (problems.length) console.error(problems.join('\n'));
    if (page) {
      console.error(`page: ${page.url()}`);
      const shown = await page.locator('[role="alert"]:visible, [data-testid="dialplan-status"]').allTextContents().catch(() => []);
      if (shown.length) console.error(`messages on the page: ${JSON.stringify(shown)}`);
      if (o.artifacts) {
        await page.screenshot({ path: join(o.artifacts, 'console-failure.png'), fullPage: true }).catch(() => {});
        writeFileSync(join(o.artifacts, 'console-failure.html'), await page.content().catch(() => ''));
        console.error(`screenshot and HTML in ${o.artifacts}`);
      }
    }
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

main();
