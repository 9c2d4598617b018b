// A browser phone for the call tests: JsSIP in headless Chromium with a fake microphone
// playing a WAV file, driven one command at a time so a test can interleave its own steps
// (a desk phone answering, a check of what it recorded) with the browser's.
//
// Usage: node call.mjs
// Environment:
//   SB_USER             a SIP user as user@domain, and SB_USER_PASSWORD its password
//   SB_MICROPHONE       the WAV file Chromium plays as the microphone (looped)
//   SB_PROFILE          an empty directory for Chromium's profile (removed on exit)
//   SB_ORIGIN           an http:// origin on loopback the page is loaded from (the server's
//                       HTTP base URL, where its own browser phone is served)
//   SB_MEDIA_PERMISSION `none`: the microphone permission is not granted (no fake
//                       permission prompt answer; only `listen` calls work then)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//   SB_CONSOLE          when set, the page's console (JsSIP's debug log) goes to stderr
//
// Commands, one per line on stdin; each is answered by one JSON line on stdout
// {"reply": COMMAND, "ok": true, …} or {"reply": COMMAND, "ok": false, "error": "…"}:
//   register URL          start a user agent over the WebSocket URL (ws:// or wss://; a
//                         self-signed certificate is accepted); ok once registered
//   unregister            ok once unregistered
//   call URI [CODEC]      call URI; with a codec (pcmu, opus…) the offer carries that codec
//                         and telephone-event only (the others are taken out of the SDP
//                         JsSIP sends)
//   listen URI            call URI without a microphone (receive only): the page never asks
//                         for one, so Chromium, without the permission, hides its host
//                         candidates behind mDNS `.local` names as it does for any such page
//   answer [CODEC]        answer the ringing call (the same restriction on the answer)
//   autoanswer on|off     answer every incoming call at once (for timing)
//   hold | unhold         re-INVITE with a=sendonly / a=sendrecv; ok once the re-INVITE
//                         succeeded
//   ice-restart           re-INVITE with new ICE credentials; ok once it succeeded and ICE
//                         is connected again
//   dtmf DIGITS           RFC 4733 events on the audio stream; ok once all were played
//   hangup                BYE (or CANCEL); ok once the session ended
//   tone HZ HZ…           what the remote audio holds over the next 500 ms (WebAudio
//                         AnalyserNode fed by the remote stream, played by an unmuted
//                         <audio> element): {"peak_hz", "peak_db", "rms_db", "bins": {HZ: dB}}
//   stats                 the call's getStats view: codec, packets, DTLS role, candidate pair
//   timing                the call's event times (ms, page clock; null when not seen)
//   sdp                   the last local and remote SDP
//   quit                  close the browser and exit 0
// Events arrive meanwhile as {"event": NAME, "t": MS, …}: registered, incoming (from),
// sending, progress (status), accepted, confirmed, failed (cause), ended (cause),
// first-audio, hold, unhold, newDTMF (digit), ice (state).
// Every command has a time limit (STEP_TIMEOUT_MS). The browser is closed and its profile
// removed on every exit: end of stdin, `quit`, SIGTERM, SIGINT, an error.

import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { STEP_TIMEOUT_MS, bundle, launchChromium } from './common.mjs';

function options() {
  const env = process.env;
  const o = {
    user: env.SB_USER,
    password: env.SB_USER_PASSWORD,
    microphone: env.SB_MICROPHONE,
    profile: env.SB_PROFILE,
    origin: (env.SB_ORIGIN || '').replace(/\/+$/, ''),
    chromium: env.CHROMIUM || '/usr/bin/chromium',
  };
  const missing = [['SB_USER', o.user], ['SB_USER_PASSWORD', o.password],
    ['SB_MICROPHONE', o.microphone], ['SB_PROFILE', o.profile], ['SB_ORIGIN', o.origin]]
    .filter(([, v]) => !v).map(([n]) => n);
  if (missing.length) {
    console.error(`call.mjs: missing ${missing.join(', ')}`);
    process.exit(2);
  }
  return o;
}

function emit(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// ---- In the page ------------------------------------------------------------------------

// Runs in the browser: sets up `window.phone`, whose `run(command, args, timeout)` carries
// out one command. Events go to Node through `window.phoneEvent`.
function pagePhone({ uri, password, debug }) {
  const JsSIP = window.JsSIP;
  if (debug) JsSIP.debug.enable('JsSIP:*');
  const now = () => performance.now();
  const send = (name, data = {}) => window.phoneEvent({ name, data: { t: now(), ...data } });
  const audioElement = document.getElementById('remote');
  const audio = new AudioContext();
  // Spectrum: 8192 points at 48 kHz, 5.9 Hz per bin. Onset: a short window, polled often.
  const spectrum = audio.createAnalyser();
  spectrum.fftSize = 8192;
  spectrum.smoothingTimeConstant = 0;
  const onset = audio.createAnalyser();
  onset.fftSize = 256;
  // Non-silent: a sample above -40 dBFS.
  const ONSET_LEVEL = 0.01;
  const microphone = {
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    video: false,
  };
  const pcConfig = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: [] };
  let ua = null;
  let session = null;
  let ringing = null;
  let autoanswer = false;
  let source = null;
  let onsetTimer = null;
  let timing = {};
  let sdp = { local: null, remote: null };

  const until = (what, timeout, setup) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeout);
    setup((v) => { clearTimeout(timer); resolve(v); },
      (e) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); });
  });

  // Keeps only the codec `name` (and telephone-event) in the audio section of an SDP.
  function onlyCodec(text, name) {
    const lines = text.split('\r\n');
    const keep = new Set();
    for (const l of lines) {
      const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(l);
      if (m && [name, 'telephone-event'].includes(m[2].toLowerCase())) keep.add(m[1]);
    }
    return lines.filter((l) => {
      const m = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ /]/.exec(l);
      return !m || keep.has(m[1]);
    }).map((l) => {
      if (!l.startsWith('m=audio ')) return l;
      const parts = l.split(' ');
      return [...parts.slice(0, 3), ...parts.slice(3).filter((pt) => keep.has(pt))].join(' ');
    }).join('\r\n');
  }

  function listenToRemoteAudio(pc) {
    pc.addEventListener('track', (e) => {
      const stream = e.streams[0] || new MediaStream([e.track]);
      audioElement.srcObject = stream;
      audioElement.muted = false;
      audioElement.play().catch((err) => send('page-error', { message: `play: ${err}` }));
      if (source) source.disconnect();
      source = audio.createMediaStreamSource(stream);
      source.connect(spectrum);
      source.connect(onset);
      audio.resume();
      const samples = new Float32Array(onset.fftSize);
      clearInterval(onsetTimer);
      onsetTimer = setInterval(() => {
        onset.getFloatTimeDomainData(samples);
        let peak = 0;
        for (const x of samples) peak = Math.max(peak, Math.abs(x));
        if (peak >= ONSET_LEVEL) {
          clearInterval(onsetTimer);
          // The window holds the last 256 samples: the first loud one is at most 5 ms old.
          timing.first_audio = now();
          send('first-audio');
        }
      }, 2);
    });
    pc.addEventListener('iceconnectionstatechange', () => send('ice', { state: pc.iceConnectionState }));
  }

  // The call's event handlers; `state.codec` restricts the local SDP to one codec.
  function handlers(state) {
    timing = { started: now() };
    sdp = { local: null, remote: null };
    return {
      peerconnection: (e) => listenToRemoteAudio(e.peerconnection),
      sdp: (e) => {
        if (e.originator === 'local' && state.codec) e.sdp = onlyCodec(e.sdp, state.codec);
        sdp[e.originator] = e.sdp;
      },
      sending: () => { timing.sending = now(); send('sending'); },
      progress: (e) => {
        timing.progress = timing.progress || now();
        send('progress', { status: e.response ? e.response.status_code : null });
      },
      accepted: () => { timing.accepted = now(); send('accepted'); },
      confirmed: () => { timing.confirmed = now(); send('confirmed'); },
      failed: (e) => { timing.failed = now(); send('failed', { cause: e.cause }); },
      getusermediafailed: (e) => send('failed', { cause: `getUserMedia: ${e}` }),
      'peerconnection:createofferfailed': (e) => send('failed', { cause: `createOffer: ${e}` }),
      'peerconnection:createanswerfailed': (e) => send('failed', { cause: `createAnswer: ${e}` }),
      'peerconnection:setlocaldescriptionfailed': (e) =>
        send('failed', { cause: `setLocalDescription: ${e}` }),
      'peerconnection:setremotedescriptionfailed': (e) =>
        send('failed', { cause: `setRemoteDescription: ${e}` }),
      ended: (e) => { timing.ended = now(); send('ended', { cause: e.cause }); },
      hold: (e) => send('hold', { originator: e.originator }),
      unhold: (e) => send('unhold', { originator: e.originator }),
      newDTMF: (e) => {
        if (e.originator === 'remote') send('newDTMF', { digit: e.dtmf.tone });
      },
    };
  }

  function answer(s, state, codec) {
    state.codec = codec;
    timing.answered = now();
    s.answer({ mediaConstraints: microphone, pcConfig });
  }

  const live = () => {
    if (!session || session.isEnded()) throw new Error('no call');
    return session;
  };

  // A re-INVITE by `start(done)`; resolves once it succeeded.
  const reinvite = (what, timeout, start) => until(what, timeout, (ok, fail) => {
    const s = live();
    s.once('failed', (e) => fail(`${what}: call failed (${e.cause})`));
    s.once('ended', (e) => fail(`${what}: call ended (${e.cause})`));
    if (!start(s, () => ok({}))) fail(`${what}: refused in state ${s.status}`);
  });

  const commands = {
    register: ([url], timeout) => until('registered', timeout, (ok, fail) => {
      ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(url)],
        uri,
        password,
        register: true,
        register_expires: 300,
        session_timers: false,
        connection_recovery_min_interval: 30,
        connection_recovery_max_interval: 60,
        user_agent: 'JsSIP phone (headless Chromium)',
      });
      ua.on('registered', () => { send('registered'); ok({}); });
      ua.on('registrationFailed', (e) => fail(`registrationFailed: ${e.cause}`));
      ua.on('newRTCSession', (e) => {
        if (e.originator !== 'remote') return;
        const state = { codec: null };
        for (const [name, f] of Object.entries(handlers(state))) e.session.on(name, f);
        session = e.session;
        ringing = { session: e.session, state };
        send('incoming', { from: e.request.from.uri.toString() });
        if (autoanswer) {
          ringing = null;
          answer(e.session, state, null);
        }
      });
      ua.start();
    }),
    unregister: (_, timeout) => until('unregistered', timeout, (ok) => {
      ua.on('unregistered', () => { ua.stop(); ok({}); });
      ua.unregister();
    }),
    call: ([target, codec]) => {
      // Handlers go in with the call: the peer connection is made before ua.call returns.
      session = ua.call(target, {
        mediaConstraints: microphone,
        pcConfig,
        rtcOfferConstraints: { offerToReceiveAudio: true },
        eventHandlers: handlers({ codec: codec ? codec.toLowerCase() : null }),
      });
      return {};
    },
    listen: ([target]) => {
      session = ua.call(target, {
        mediaConstraints: { audio: false, video: false },
        pcConfig,
        rtcOfferConstraints: { offerToReceiveAudio: true },
        eventHandlers: handlers({ codec: null }),
      });
      return {};
    },
    answer: ([codec]) => {
      if (!ringing || ringing.session.isEnded()) throw new Error('no incoming call');
      answer(ringing.session, ringing.state, codec ? codec.toLowerCase() : null);
      ringing = null;
      return {};
    },
    autoanswer: ([on]) => { autoanswer = on === 'on'; return {}; },
    hold: (_, timeout) => reinvite('hold', timeout, (s, done) => s.hold({}, done)),
    unhold: (_, timeout) => reinvite('unhold', timeout, (s, done) => s.unhold({}, done)),
    'ice-restart': async (_, timeout) => {
      const pc = live().connection;
      await reinvite('ICE restart', timeout, (s, done) =>
        s.renegotiate({ rtcOfferConstraints: { iceRestart: true } }, done));
      await until('ICE connected after the restart', timeout, (ok) => {
        const check = () => {
          if (['connected', 'completed'].includes(pc.iceConnectionState)) {
            pc.removeEventListener('iceconnectionstatechange', check);
            ok({});
          }
        };
        pc.addEventListener('iceconnectionstatechange', check);
        check();
      });
      return {};
    },
    dtmf: ([digits], timeout) => until('the digits played', timeout, (ok, fail) => {
      const sender = live().connection.getSenders().find((x) => x.track && x.dtmf);
      if (!sender) { fail('no DTMF sender'); return; }
      sender.dtmf.addEventListener('tonechange', (e) => { if (e.tone === '') ok({}); });
      live().sendDTMF(digits, { transportType: 'RFC2833', duration: 120, interToneGap: 80 });
    }),
    hangup: (_, timeout) => until('the call ended', timeout, (ok) => {
      const s = session;
      if (!s || s.isEnded()) { ok({}); return; }
      s.once('ended', () => ok({}));
      s.once('failed', () => ok({}));
      s.terminate();
    }),
    tone: async (freqs) => {
      const bins = spectrum.frequencyBinCount;
      const hzPerBin = audio.sampleRate / spectrum.fftSize;
      const power = new Float64Array(bins);
      const frame = new Float32Array(bins);
      const wave = new Float32Array(spectrum.fftSize);
      let squares = 0;
      let count = 0;
      let frames = 0;
      // Ten spectra 50 ms apart, averaged as power.
      for (let i = 0; i < 10; i += 1) {
        await new Promise((r) => setTimeout(r, 50));
        spectrum.getFloatFrequencyData(frame);
        for (let b = 0; b < bins; b += 1) power[b] += 10 ** (frame[b] / 10);
        spectrum.getFloatTimeDomainData(wave);
        for (const x of wave) squares += x * x;
        count += wave.length;
        frames += 1;
      }
      const db = (p) => (p > 0 ? 10 * Math.log10(p / frames) : -Infinity);
      // Below 100 Hz is left out (no test tone is there).
      let peak = Math.ceil(100 / hzPerBin);
      for (let b = peak; b < bins; b += 1) if (power[b] > power[peak]) peak = b;
      // A tone's power spreads over a few bins (Blackman window): the strongest within ±2.
      const at = (hz) => {
        const c = Math.round(hz / hzPerBin);
        let best = 0;
        for (let b = Math.max(0, c - 2); b <= Math.min(bins - 1, c + 2); b += 1) {
          best = Math.max(best, power[b]);
        }
        return db(best);
      };
      const fmt = (v) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : -999);
      return {
        peak_hz: Math.round(peak * hzPerBin),
        peak_db: fmt(db(power[peak])),
        rms_db: fmt(10 * Math.log10(squares / count || 1e-30)),
        bins: Object.fromEntries(freqs.map((f) => [f, fmt(at(Number(f)))])),
      };
    },
    stats: async () => {
      const report = await live().connection.getStats();
      const all = [...report.values()];
      const inbound = all.find((r) => r.type === 'inbound-rtp' && r.kind === 'audio');
      const outbound = all.find((r) => r.type === 'outbound-rtp' && r.kind === 'audio');
      const transport = all.find((r) => r.type === 'transport');
      const pair = transport && report.get(transport.selectedCandidatePairId);
      const codec = inbound && report.get(inbound.codecId);
      const candidate = (id) => {
        const c = id && report.get(id);
        return c ? `${c.candidateType} ${c.address}:${c.port}` : null;
      };
      return {
        codec: codec ? codec.mimeType : null,
        packets_received: inbound ? inbound.packetsReceived : 0,
        packets_sent: outbound ? outbound.packetsSent : 0,
        audio_level: inbound ? inbound.audioLevel : null,
        dtls_role: transport ? transport.dtlsRole : null,
        srtp_cipher: transport ? transport.srtpCipher : null,
        local_candidate: pair ? candidate(pair.localCandidateId) : null,
        remote_candidate: pair ? candidate(pair.remoteCandidateId) : null,
      };
    },
    timing: () => ({ ...timing }),
    sdp: () => ({ ...sdp }),
  };

  window.phone = {
    run: async (command, args, timeout) => {
      const f = commands[command];
      if (!f) throw new Error(`unknown command ${command}`);
      return f(args, timeout);
    },
  };
}

// ---- The run -------------------------------------------------------------------------------

let browser;
let profile;
let closing = false;

async function shutdown(code) {
  if (closing) return;
  closing = true;
  if (browser) await browser.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
  process.exit(code);
}

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => shutdown(1));

// Runs `command` in the page with a time limit.
async function inPage(page, command, args) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${STEP_TIMEOUT_MS} ms`)),
      STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      page.evaluate(([c, a, timeout]) => window.phone.run(c, a, timeout),
        [command, args, STEP_TIMEOUT_MS]),
      limit,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const o = options();
  profile = o.profile;
  browser = await launchChromium({
    executable: o.chromium,
    profile,
    extraArgs: [
      ...(process.env.SB_MEDIA_PERMISSION === 'none' ? [] : ['--use-fake-ui-for-media-stream']),
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${o.microphone}`,
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  // The origin's Content-Security-Policy (the server's API answers carry `default-src
  // 'self'`) would refuse the inline JsSIP script and WebSockets to other ports.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => emit({ event: 'page-error', message: e.message }));
  if (process.env.SB_CONSOLE) page.on('console', (m) => console.error(`console: ${m.text()}`));
  page.on('crash', () => {
    emit({ event: 'page-error', message: 'the page crashed' });
    shutdown(1);
  });
  await page.exposeFunction('phoneEvent', (e) => emit({ event: e.name, ...e.data }));
  // The page needs a secure context (getUserMedia) whose address space is loopback
  // (Chromium's local network access checks keep a public page, which includes one
  // Playwright fulfils itself, from reaching loopback): a real document from the origin
  // given, replaced by the phone's own.
  await page.goto(`${o.origin}/.well-known/switchboard-call-test`);
  await page.setContent('<!doctype html><title>phone</title><audio id="remote"></audio>');
  await page.addScriptTag({ content: bundle('jssip') });
  await page.evaluate(pagePhone, {
    uri: `sip:${o.user}`, password: o.password, debug: Boolean(process.env.SB_CONSOLE),
  });
  emit({ event: 'ready' });

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, ...args] = line.trim().split(/\s+/);
    if (!command) continue;
    if (command === 'quit') {
      emit({ reply: 'quit', ok: true });
      break;
    }
    try {
      const result = await inPage(page, command, args);
      emit({ reply: command, ok: true, ...result });
    } catch (e) {
      emit({ reply: command, ok: false, error: e.message || String(e) });
    }
  }
  await shutdown(0);
}

main().catch((e) => {
  emit({ event: 'fatal', message: e.stack || String(e) });
  shutdown(1);
});
