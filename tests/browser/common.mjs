// Steps the browser scripts share: checks that fail with a message, the live API, JsSIP
// joined into one script for a page, and Chromium launched with the flags these tests need.

import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const STEP_TIMEOUT_MS = 15_000;
const HERE = dirname(fileURLToPath(import.meta.url));

export class CheckFailed extends Error {}

export function check(cond, message) {
  if (!cond) throw new CheckFailed(message);
}

// ---- JsSIP as one script
//
// JsSIP ships as CommonJS modules; they are joined here into one script for the page
// (a small loader resolving `require` the way Node does, preferring `browser` entries). -------------------------------------------------------------

function isFile(path) {
  return existsSync(path) && statSync(path).isFile();
}

function resolveFile(path) {
  for (const candidate of [path, `${path}.js`, `${path}.json`, join(path, 'index.js')]) {
    if (isFile(candidate)) return candidate;
  }
  return null;
}

function resolvePackage(name) {
  const dir = join(HERE, 'node_modules', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const entry = typeof pkg.browser === 'string' ? pkg.browser : pkg.main || 'index.js';
  return resolveFile(join(dir, entry));
}

export function bundle(entryPackage) {
  const ids = new Map();
  const defs = [];
  const add = (file) => {
    if (ids.has(file)) return ids.get(file);
    const id = defs.length;
    ids.set(file, id);
    defs.push(null);
    const text = readFileSync(file, 'utf8');
    const source = file.endsWith('.json') ? `module.exports = ${text};` : text;
    const deps = {};
    for (const [, name] of source.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const target = name.startsWith('.') ? resolveFile(join(dirname(file), name)) : resolvePackage(name);
      // A require in a comment or for Node only resolves to nothing; it fails when called.
      if (target) deps[name] = add(target);
    }
    defs[id] = `[function (module, exports, require) {\n${source}\n}, ${JSON.stringify(deps)}]`;
    return id;
  };
  const entry = add(resolvePackage(entryPackage));
  return `(function () {
  const defs = [${defs.join(',\n')}];
  const cache = [];
  function load(id) {
    if (cache[id]) return cache[id].exports;
    const module = { exports: {} };
    cache[id] = module;
    const [run, deps] = defs[id];
    run(module, module.exports, (name) => {
      if (!(name in deps)) throw new Error('module not bundled: ' + name);
      return load(deps[name]);
    });
    return module.exports;
  }
  window.JsSIP = load(${entry});
})();`;
}

// ---- The live API ----------------------------------------------------------------------

export async function login(o) {
  const res = await fetch(`${o.http}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: o.admin, password: o.adminPassword }),
  });
  check(res.status === 200, `admin login: HTTP ${res.status}`);
  return (await res.json()).token;
}

export async function registrations(o, token) {
  const res = await fetch(`${o.http}/api/registrations`, {
    headers: { authorization: `Bearer ${token}` },
  });
  check(res.status === 200, `registrations: HTTP ${res.status}`);
  return res.json();
}

export async function eventually(what, f) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const value = await f();
    if (value) return value;
    check(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- Chromium -------------------------------------------------------------------------------

// Launches Debian's Chromium headless with a fresh profile directory `profile`. Playwright's
// default flags are replaced (they mute audio); `extraArgs` are added (fake media devices,
// loopback candidates).
export async function launchChromium({ executable, profile, extraArgs = [] }) {
  return chromium.launch({
    executablePath: executable,
    ignoreDefaultArgs: true,
    timeout: STEP_TIMEOUT_MS,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--ignore-certificate-errors', `--user-data-dir=${profile}`,
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
      ...extraArgs,
      '--remote-debugging-pipe', 'about:blank',
    ],
  });
}

// ---- A check script's run ----------------------------------------------------------------------

// Runs `main(open)`, a script of checks: the browser it launches (`open.browser`) is closed and
// its profile directory (`open.profile`) removed on every exit, SIGTERM too (the test runner's
// time limit). Exits 0 when `main` resolves, 1 with the failed check (or the error) otherwise.
export function runChecks(main) {
  const open = { browser: null, profile: null };
  const close = async () => {
    if (open.browser) await open.browser.close().catch(() => {});
    if (open.profile) rmSync(open.profile, { recursive: true, force: true });
  };
  process.on('SIGTERM', () => close().finally(() => process.exit(1)));
  main(open).finally(close).then(() => process.exit(0), (e) => {
    console.error(e instanceof CheckFailed ? `FAILED: ${e.message}` : e.stack || String(e));
    process.exit(1);
  });
}
