// Drives the browser phone page (/phone) in headless Chromium with a fake microphone that
// plays a 600 Hz tone, the way a user would: fills the sign-in form, presses buttons and
// dial-pad keys, and reads what the page shows.
//
// Steps (SB_STEPS, comma-separated, in this order):
//   registration  the WebSocket URL field defaults to SB_DEFAULT_WS_URL; the page registers
//                 over each of SB_WS_URLS ("default" keeps the field as it is), shows it, and
//                 the binding with its transport is in /api/registrations; signing out removes
//                 it. A wrong password shows the registration error with its SIP status; an
//                 unreachable URL shows that the connection failed.
//   echo          a call to an unknown user shows the failure and its status; then calls
//                 `*43` (the default dialplan's echo test): connected, the remote audio
//                 carries the tone; mute silences the echo and unmute brings it back; dial-pad
//                 and keyboard digits during the call are sent as RFC 4733 tones; hang up.
//   echo-hold     calls `*43`; hold shows on hold (silent), resume connected (the tone again).
//   browser-call  a second page signs in as SB_CALLEE; the first calls it by name: the second
//                 shows the incoming call and rings, answers, both show connected and hear
//                 audio; hold and resume (both pages show it); the caller hangs up and both
//                 show the call ended.
//
// Usage: node phone.mjs
// Environment:
//   SB_HTTP_URL          base URL of the server (http://… or https://…; the page is /phone)
//   SB_ADMIN_NAME        an administrator account, and SB_ADMIN_PASSWORD its password
//   SB_USER              a SIP user as user@domain, and SB_USER_PASSWORD its password
//   SB_CALLEE            a second SIP user (browser-call), and SB_CALLEE_PASSWORD
//   SB_WS_URLS           WebSocket URLs for the registration step (comma-separated)
//   SB_DEFAULT_WS_URL    the URL the page should offer by default
//   SB_UNREACHABLE_WS_URL  a ws:// URL where nothing listens
//   SB_STEPS             the steps to run (default: all)
//   CHROMIUM             the browser (default /usr/bin/chromium)
// Prints "ok: …" per check passed; exits 0 when every check passed, 1 with the failed step and
// the reason (and the page's SIP trace) otherwise. The browser is always closed and its
// profile directory removed.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckFailed, STEP_TIMEOUT_MS, check, eventually, launchChromium, login, registrations, runChecks,
} from './common.mjs';

const TONE_HZ = 600;
const ALL_STEPS = ['registration', 'echo', 'echo-hold', 'browser-call'];

function options() {
  const env = process.env;
  const o = {
    http: env.SB_HTTP_URL,
    admin: env.SB_ADMIN_NAME,
    adminPassword: env.SB_ADMIN_PASSWORD,
    user: env.SB_USER,
    password: env.SB_USER_PASSWORD,
    callee: env.SB_CALLEE,
    calleePassword: env.SB_CALLEE_PASSWORD,
    urls: (env.SB_WS_URLS || '').split(',').map((s) => s.trim()).filter(Boolean),
    defaultUrl: env.SB_DEFAULT_WS_URL,
    unreachable: env.SB_UNREACHABLE_WS_URL,
    steps: (env.SB_STEPS || ALL_STEPS.join(',')).split(',').map((s) => s.trim()).filter(Boolean),
    chromium: env.CHROMIUM || '/usr/bin/chromium',
  };
  const need = [['SB_HTTP_URL', o.http], ['SB_ADMIN_NAME', o.admin],
    ['SB_ADMIN_PASSWORD', o.adminPassword], ['SB_USER', o.user], ['SB_USER_PASSWORD', o.password],
    ['SB_DEFAULT_WS_URL', o.defaultUrl]];
  if (o.steps.includes('registration')) {
    need.push(['SB_WS_URLS', o.urls.length ? 'x' : ''], ['SB_UNREACHABLE_WS_URL', o.unreachable]);
  }
  if (o.steps.includes('browser-call')) {
    need.push(['SB_CALLEE', o.callee], ['SB_CALLEE_PASSWORD', o.calleePassword]);
  }
  const missing = need.filter(([, v]) => !v).map(([n]) => n);
  const unknown = o.steps.filter((s) => !ALL_STEPS.includes(s));
  if (missing.length || unknown.length) {
    console.error(`phone.mjs: missing ${missing.join(', ') || '-'}; unknown steps ${unknown.join(', ') || '-'}`);
    process.exit(2);
  }
  o.http = o.http.replace(/\/+$/, '');
  return o;
}

// ---- The fake microphone and the profile -----------------------------------------------------

// A 48 kHz mono 16-bit WAV file of `seconds` of a `hz` sine at half scale (Chromium loops it).
function toneWav(hz, seconds) {
  const rate = 48_000;
  const samples = rate * seconds;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i += 1) {
    data.writeInt16LE(Math.round(16_383 * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

function prepareProfile(profile) {
  const tone = join(profile, 'tone.wav');
  writeFileSync(tone, toneWav(TONE_HZ, 4));
  // One wildcard socket for ICE instead of one per interface (see TESTING-NOTES.md).
  mkdirSync(join(profile, 'Default'), { recursive: true });
  writeFileSync(join(profile, 'Default', 'Preferences'), JSON.stringify({
    webrtc: { ip_handling_policy: 'default_public_and_private_interfaces' },
  }));
  return tone;
}

// ---- Reading and driving the page ----------------------------------------------------------

// A page with its console and SIP trace kept for the failure report.
async function openPhone(context, o, label) {
  const page = await context.newPage();
  const trace = [];
  page.on('console', (m) => {
    trace.push(`[${label}] ${m.text()}`);
    if (trace.length > 400) trace.shift();
  });
  page.on('pageerror', (e) => trace.push(`[${label}] page error: ${e.message}`));
  // JsSIP's transport log: every SIP message the page sends and receives.
  await page.addInitScript(() => localStorage.setItem('debug', 'JsSIP:Transport'));
  const res = await page.goto(`${o.http}/phone`);
  check(res && res.status() === 200, `${label}: GET /phone: ${res && res.status()}`);
  page.trace = trace;
  page.label = label;
  return page;
}

async function shown(page) {
  return page.evaluate(() => ({
    reg: document.getElementById('reg-state').dataset.state,
    regText: document.getElementById('reg-state').textContent,
    call: document.getElementById('call-state').dataset.state,
    callText: document.getElementById('call-state').textContent,
    error: document.getElementById('error').hidden ? '' : document.getElementById('error').textContent,
  }));
}

// Waits until the element `id` has data-state `state`; fails with what the page shows.
async function waitState(page, id, state, what) {
  try {
    await page.waitForFunction(([i, s]) => document.getElementById(i).dataset.state === s,
      [id, state], { timeout: STEP_TIMEOUT_MS, polling: 100 });
  } catch {
    const s = await shown(page);
    throw new CheckFailed(`${page.label}: ${what}: expected ${id} "${state}", the page shows `
      + `registration "${s.regText}", call "${s.callText}", error "${s.error}"`);
  }
}

async function signIn(page, { user, password, url }) {
  await page.fill('#sip-user', user);
  await page.fill('#sip-password', password);
  if (url) await page.fill('#ws-url', url);
  await page.click('#sign-in');
}

async function signOut(page) {
  await page.click('#sign-out');
  await waitState(page, 'reg-state', 'signed-out', 'sign out');
}

async function bindingOf(o, token, aor) {
  const [user, domain] = aor.split('@');
  return (await registrations(o, token)).find((r) => r.user === user && r.domain === domain);
}

// Runs in the page: the remote audio's level over `ms` milliseconds: the largest RMS of a
// 4096-sample window and the frequency of the strongest bin.
function remoteAudio({ ms }) {
  const audio = document.getElementById('remote-audio');
  const stream = audio.srcObject;
  if (!stream || stream.getAudioTracks().length === 0) return Promise.resolve({ rms: 0, hz: 0, none: true });
  window.testAudio ||= new AudioContext();
  const ctx = window.testAudio;
  const source = ctx.createMediaStreamSource(stream);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 4096;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  const time = new Float32Array(analyser.fftSize);
  const freq = new Float32Array(analyser.frequencyBinCount);
  let rms = 0;
  let hz = 0;
  let best = -Infinity;
  return ctx.resume().then(() => new Promise((resolve) => {
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(time);
      const r = Math.sqrt(time.reduce((sum, x) => sum + x * x, 0) / time.length);
      if (r > rms) rms = r;
      analyser.getFloatFrequencyData(freq);
      for (let i = 1; i < freq.length; i += 1) {
        if (freq[i] > best) {
          best = freq[i];
          hz = (i * ctx.sampleRate) / analyser.fftSize;
        }
      }
    }, 50);
    setTimeout(() => {
      clearInterval(timer);
      source.disconnect();
      resolve({ rms, hz: Math.round(hz), none: false });
    }, ms);
  }));
}

const toneHeard = (a) => a.rms > 0.02 && Math.abs(a.hz - TONE_HZ) < 40;
const silent = (a) => a.rms < 0.005;

// Waits until the remote audio satisfies `pred` (measured in 500 ms windows).
async function waitAudio(page, pred, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let last;
  for (;;) {
    last = await page.evaluate(remoteAudio, { ms: 500 });
    if (pred(last)) return last;
    if (Date.now() > deadline) {
      throw new CheckFailed(`${page.label}: ${what}: remote audio rms ${last.rms.toFixed(4)}, `
        + `strongest at ${last.hz} Hz${last.none ? ' (no stream on the <audio> element)' : ''}`);
    }
  }
}

// ---- Steps ---------------------------------------------------------------------------------

async function registration(context, o, token) {
  const page = await openPhone(context, o, 'registration');
  const offered = await page.inputValue('#ws-url');
  check(offered === o.defaultUrl, `the WebSocket URL field offers ${offered}, expected ${o.defaultUrl}`);
  console.log(`ok: the page offers ${offered} by default`);
  for (const spec of o.urls) {
    const url = spec === 'default' ? o.defaultUrl : spec;
    await signIn(page, { user: o.user, password: o.password, url: spec === 'default' ? null : url });
    await waitState(page, 'reg-state', 'registered', `register over ${url}`);
    const text = (await shown(page)).regText;
    check(text.includes(o.user), `the registration state names the user: "${text}"`);
    const transport = url.startsWith('wss:') ? 'wss' : 'ws';
    const binding = await eventually(`${url}: the binding in the live API`, () => bindingOf(o, token, o.user));
    check(binding.transport === transport, `${url}: transport ${binding.transport}, expected ${transport}`);
    check((await page.isEnabled('#call')), `${url}: Call is enabled once registered`);
    await signOut(page);
    await eventually(`${url}: the binding removed after signing out`, async () => !(await bindingOf(o, token, o.user)));
    console.log(`ok: registered and signed out over ${url}`);
  }

  await signIn(page, { user: o.user, password: `${o.password}-wrong`, url: o.defaultUrl });
  await waitState(page, 'reg-state', 'failed', 'a wrong password');
  const failed = await shown(page);
  check(/Registration failed: .*\((401|403) [^)]+\)/.test(failed.error),
    `the error names the SIP cause and status: "${failed.error}"`);
  check(await page.isEnabled('#sign-in'), 'the form can be submitted again after a failure');
  check(!(await bindingOf(o, token, o.user)), 'no binding after a wrong password');
  console.log(`ok: a wrong password shows "${failed.error}"`);

  await page.fill('#sip-password', o.password);
  await page.fill('#ws-url', o.unreachable);
  await page.click('#sign-in');
  await waitState(page, 'reg-state', 'connection-lost', 'an unreachable server');
  const lost = await shown(page);
  check(lost.error.includes(`Cannot connect to ${o.unreachable}`), `the error says so: "${lost.error}"`);
  await signOut(page);
  console.log(`ok: an unreachable WebSocket URL shows "${lost.error}"`);
  await page.close();
}

async function echo(context, o, token) {
  const page = await openPhone(context, o, 'echo');
  await page.uncheck('#audio-processing');
  await signIn(page, { user: o.user, password: o.password, url: o.defaultUrl });
  await waitState(page, 'reg-state', 'registered', 'register');
  // A user that does not exist: the call fails with the server's status.
  await page.fill('#number', 'nobody');
  await page.click('#call');
  await waitState(page, 'call-state', 'failed', 'a call to an unknown user');
  const refused = await shown(page);
  check(/^Call failed: 404 Not Found/.test(refused.error), `the error names the status: "${refused.error}"`);
  check(refused.callText.includes('404'), `the call state names the status: "${refused.callText}"`);
  console.log(`ok: a call to an unknown user shows "${refused.error}"`);
  await page.fill('#number', '');
  // Dial *43 on the dial pad.
  for (const key of ['*', '4', '3']) await page.click(`#dialpad button[data-key="${key}"]`);
  check((await page.inputValue('#number')) === '*43', 'the dial pad writes the number');
  await page.click('#call');
  await waitState(page, 'call-state', 'connected', 'call *43');
  console.log('ok: the echo call shows connected');
  const heard = await waitAudio(page, toneHeard, 'the echoed tone');
  console.log(`ok: the remote audio carries the echoed tone (rms ${heard.rms.toFixed(3)}, ${heard.hz} Hz)`);
  const calls = await eventually('the call in /api/calls', async () => {
    const res = await fetch(`${o.http}/api/calls`, { headers: { authorization: `Bearer ${token}` } });
    check(res.status === 200, `calls: HTTP ${res.status}`);
    const list = await res.json();
    return list.length === 1 ? list : null;
  });
  console.log(`ok: /api/calls shows the call (${calls[0].state}, media ${calls[0].media && calls[0].media.path})`);

  await page.click('#mute');
  check((await page.getAttribute('#mute', 'aria-pressed')) === 'true', 'Mute is pressed');
  await waitAudio(page, silent, 'the echo while muted');
  await page.click('#mute');
  check((await page.getAttribute('#mute', 'aria-pressed')) === 'false', 'Mute is released');
  await waitAudio(page, toneHeard, 'the echo after unmuting');
  console.log('ok: mute silences the echo, unmute brings it back');

  for (const key of ['1', '2', '3', '#']) await page.click(`#dialpad button[data-key="${key}"]`);
  await page.focus('#number');
  await page.keyboard.press('5');
  await page.keyboard.press('*');
  const sent = await eventually('the tones sent', async () => {
    const t = await page.textContent('#dtmf-sent');
    const sending = await page.getAttribute('#dtmf-sent', 'data-sending');
    return t === '123#5*' && sending === 'false' ? t : null;
  });
  check((await page.inputValue('#number')) === '*43', 'tones during a call do not change the number');
  console.log(`ok: DTMF ${sent} sent as RFC 4733 events`);

  await hangUp(page, o, token);
  await signOut(page);
  await page.close();
}

async function hangUp(page, o, token) {
  await page.click('#hangup');
  await waitState(page, 'call-state', 'ended', 'hang up');
  const ended = (await shown(page)).callText;
  check(ended.includes('by you'), `the page says who hung up: "${ended}"`);
  await eventually('the call gone from /api/calls', async () => {
    const res = await fetch(`${o.http}/api/calls`, { headers: { authorization: `Bearer ${token}` } });
    return (await res.json()).length === 0;
  });
  console.log(`ok: hang up shows "${ended}"`);
}

// Hold and resume on `page`'s established call, whose remote audio carries the tone; `other`
// (the far end's page, if any) shows it is held.
async function holdAndResume(page, other, what) {
  await page.click('#hold');
  await waitState(page, 'call-state', 'on-hold', `hold ${what}`);
  check((await page.getAttribute('#hold', 'aria-pressed')) === 'true', 'Hold is pressed');
  if (other) await waitState(other, 'call-state', 'on-hold', `${what} held by the other side`);
  await waitAudio(page, silent, `the audio of ${what} on hold`);
  await page.click('#hold');
  await waitState(page, 'call-state', 'connected', `resume ${what}`);
  check((await page.getAttribute('#hold', 'aria-pressed')) === 'false', 'Hold is released');
  if (other) await waitState(other, 'call-state', 'connected', `${what} resumed by the other side`);
  await waitAudio(page, toneHeard, `the audio of ${what} after resuming`);
  console.log(`ok: hold shows on hold and silence; resume shows connected and the audio again (${what})`);
}

async function echoHold(context, o, token) {
  const page = await openPhone(context, o, 'echo-hold');
  await page.uncheck('#audio-processing');
  await signIn(page, { user: o.user, password: o.password, url: o.defaultUrl });
  await waitState(page, 'reg-state', 'registered', 'register');
  await page.fill('#number', '*43');
  await page.click('#call');
  await waitState(page, 'call-state', 'connected', 'call *43');
  await waitAudio(page, toneHeard, 'the echoed tone');
  await holdAndResume(page, null, 'the echo test');
  await hangUp(page, o, token);
  await signOut(page);
  await page.close();
}

async function browserCall(context, o) {
  const caller = await openPhone(context, o, 'caller');
  const callee = await openPhone(context, o, 'callee');
  for (const p of [caller, callee]) await p.uncheck('#audio-processing');
  await signIn(caller, { user: o.user, password: o.password, url: o.defaultUrl });
  await signIn(callee, { user: o.callee, password: o.calleePassword, url: o.defaultUrl });
  await waitState(caller, 'reg-state', 'registered', 'register');
  await waitState(callee, 'reg-state', 'registered', 'register');
  const calleeName = o.callee.split('@')[0];
  await caller.fill('#number', calleeName);
  await caller.press('#number', 'Enter');
  await waitState(callee, 'call-state', 'incoming', 'the incoming call');
  check(await callee.isVisible('#answer'), 'Answer is shown while ringing');
  const ringing = await callee.evaluate(() => document.title);
  check(ringing.startsWith('Incoming call'), `the title says the phone rings: "${ringing}"`);
  const from = await callee.textContent('#peer');
  check(from.includes(o.user.split('@')[0]), `the incoming call names the caller: "${from}"`);
  await waitState(caller, 'call-state', 'ringing', 'the caller hears ringing');
  console.log(`ok: the callee rings (${from}), the caller shows ringing`);
  await callee.click('#answer');
  await waitState(callee, 'call-state', 'connected', 'answered');
  await waitState(caller, 'call-state', 'connected', 'answered');
  const a = await waitAudio(caller, toneHeard, 'the callee\'s tone at the caller');
  const b = await waitAudio(callee, toneHeard, 'the caller\'s tone at the callee');
  console.log(`ok: both connected and hear each other (rms ${a.rms.toFixed(3)} and ${b.rms.toFixed(3)})`);
  await holdAndResume(caller, callee, 'the call to another browser');
  await caller.click('#hangup');
  await waitState(caller, 'call-state', 'ended', 'hang up');
  await waitState(callee, 'call-state', 'ended', 'the other side hung up');
  const ended = (await shown(callee)).callText;
  check(ended.includes('by the other side'), `the callee says who hung up: "${ended}"`);
  console.log(`ok: the caller hangs up; the callee shows "${ended}"`);
  for (const p of [caller, callee]) {
    await signOut(p);
    await p.close();
  }
}

// ---- The run -------------------------------------------------------------------------------

// Pages opened, for their traces when a check fails.
const pages = [];

async function main(open) {
  const o = options();
  const token = await login(o);
  open.profile = mkdtempSync(join(tmpdir(), 'sb-phone-'));
  const tone = prepareProfile(open.profile);
  try {
    open.browser = await launchChromium({
      executable: o.chromium,
      profile: open.profile,
      extraArgs: [
        '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${tone}`, '--allow-loopback-in-peer-connection',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
    const context = await open.browser.newContext({ ignoreHTTPSErrors: true });
    context.on('page', (p) => pages.push(p));
    const steps = { registration, echo, 'echo-hold': echoHold, 'browser-call': browserCall };
    for (const step of ALL_STEPS.filter((s) => o.steps.includes(s))) {
      await steps[step](context, o, token);
    }
  } catch (e) {
    for (const p of pages) {
      if (p.trace && p.trace.length) console.error(`---- ${p.label}: console and SIP trace\n${p.trace.join('\n')}`);
    }
    throw e;
  }
}

runChecks(main);
