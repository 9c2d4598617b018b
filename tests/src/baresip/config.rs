//! The configuration directory of one baresip process: its `config` and
//! `accounts` files.

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::Path;

/// An audio codec a phone may use (the account's `audio_codecs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law (module g711).
    Pcmu,
    /// G.711 A-law (module g711).
    Pcma,
    /// G.722 (module g722; 16 kHz audio, RTP clock 8000).
    G722,
    /// Opus (module opus; 48 kHz stereo inside baresip).
    Opus,
}

impl Codec {
    /// The name baresip 1.0 knows the codec by in `audio_codecs`: name,
    /// sample rate and channels of its own codec table (a name alone means
    /// 8000 Hz mono, which only G.711 matches).
    pub fn account_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU/8000/1",
            Codec::Pcma => "PCMA/8000/1",
            Codec::G722 => "G722/16000/1",
            Codec::Opus => "opus/48000/2",
        }
    }

    /// The codec's name in SDP (`a=rtpmap`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Opus => "opus",
        }
    }

    /// The sample rate of the audio baresip decodes with this codec (and
    /// so of its recordings).
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::G722 => 16000,
            Codec::Opus => 48000,
        }
    }
}

/// What a phone plays as its microphone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Microphone {
    /// `ausine`: 440 Hz, 48 kHz stereo.
    Sine,
    /// `aufile`: a WAV file of a pure tone at this frequency, written when
    /// the phone starts.
    Tone(u32),
}

/// Sample rate of the microphone WAV files (baresip resamples to the codec).
pub(super) const MICROPHONE_RATE: u32 = 48000;
/// Length of a microphone WAV file: baresip ends a call when its `aufile`
/// source reaches the end of the file ("end of file"), so it outlasts any
/// test call.
pub(super) const MICROPHONE_SECONDS: u64 = 30;
/// Amplitude of a microphone tone (about -12 dBFS).
pub(super) const MICROPHONE_AMPLITUDE: i16 = 8000;
/// Name of the microphone file in the phone's directory.
pub(super) const MICROPHONE_FILE: &str = "microphone.wav";
/// Directory (in the phone's directory) of the recordings.
pub(super) const RECORDINGS_DIR: &str = "recordings";

/// How a phone is set up.
#[derive(Debug, Clone)]
pub struct BaresipConfig {
    pub(super) name: String,
    registration: Option<Registration>,
    codecs: Vec<Codec>,
    microphone: Microphone,
    pub(super) record: bool,
    srtp_mandatory: bool,
    pub(super) sip_trace: bool,
    /// The loopback address the phone's SIP and RTP use.
    pub(super) address: Ipv4Addr,
}

#[derive(Debug, Clone)]
struct Registration {
    user: String,
    domain: String,
    password: String,
    server: SocketAddr,
    /// `udp`, `tcp` or `tls` towards `server`.
    transport: &'static str,
}

impl BaresipConfig {
    /// A phone that registers nowhere; its address of record is
    /// `sip:NAME@127.0.0.1:PORT` and peers dial it with [`Baresip::direct_uri`].
    ///
    /// [`Baresip::direct_uri`]: super::Baresip::direct_uri
    pub fn peer(name: &str) -> BaresipConfig {
        BaresipConfig {
            name: name.to_owned(),
            registration: None,
            codecs: vec![Codec::Pcmu],
            microphone: Microphone::Sine,
            record: false,
            srtp_mandatory: false,
            sip_trace: false,
            address: Ipv4Addr::LOCALHOST,
        }
    }

    /// A phone with the account `sip:USER@DOMAIN` that registers to `server`
    /// over UDP and sends every request there (outbound proxy).
    pub fn registered(
        user: &str,
        domain: &str,
        password: &str,
        server: SocketAddr,
    ) -> BaresipConfig {
        BaresipConfig {
            registration: Some(Registration {
                user: user.to_owned(),
                domain: domain.to_owned(),
                password: password.to_owned(),
                server,
                transport: "udp",
            }),
            ..BaresipConfig::peer(user)
        }
    }

    /// Uses TCP towards the server instead of UDP.
    pub fn tcp(mut self) -> BaresipConfig {
        if let Some(r) = self.registration.as_mut() {
            r.transport = "tcp";
        }
        self
    }

    /// Uses TLS towards the server's TLS listener `server_tls` instead of
    /// UDP. baresip 1.0 (libre) accepts the server's certificate without
    /// verifying it, so a self-signed one works.
    pub fn tls(mut self, server_tls: SocketAddr) -> BaresipConfig {
        if let Some(r) = self.registration.as_mut() {
            r.transport = "tls";
            r.server = server_tls;
        }
        self
    }

    /// The codecs the phone offers and accepts, in order of preference
    /// (default: PCMU only).
    pub fn codecs(mut self, codecs: &[Codec]) -> BaresipConfig {
        assert!(!codecs.is_empty(), "a phone needs a codec");
        self.codecs = codecs.to_vec();
        self
    }

    /// Plays a pure tone of `frequency_hz` as the microphone (instead of
    /// `ausine`'s 440 Hz).
    pub fn tone(mut self, frequency_hz: u32) -> BaresipConfig {
        self.microphone = Microphone::Tone(frequency_hz);
        self
    }

    /// Records the audio the phone decodes, one WAV file per call (module
    /// `sndfile`): see [`Baresip::recordings`].
    ///
    /// [`Baresip::recordings`]: super::Baresip::recordings
    pub fn record(mut self) -> BaresipConfig {
        self.record = true;
        self
    }

    /// Requires SDES-SRTP (`mediaenc=srtp-mand`: offers and answers in
    /// RTP/SAVP with `a=crypto`).
    pub fn srtp_mandatory(mut self) -> BaresipConfig {
        self.srtp_mandatory = true;
        self
    }

    /// Prints every SIP message sent and received (`baresip -s`): see
    /// [`Baresip::sip_messages`].
    ///
    /// [`Baresip::sip_messages`]: super::Baresip::sip_messages
    pub fn sip_trace(mut self) -> BaresipConfig {
        self.sip_trace = true;
        self
    }

    /// Sends SIP and RTP from another loopback address than 127.0.0.1
    /// (e.g. `127.0.0.2`, to be a source of its own).
    pub fn address(mut self, address: Ipv4Addr) -> BaresipConfig {
        assert!(address.is_loopback(), "tests use loopback addresses only");
        self.address = address;
        self
    }

    /// The microphone tone's frequency, when it plays one.
    pub(super) fn tone_hz(&self) -> Option<u32> {
        match self.microphone {
            Microphone::Sine => None,
            Microphone::Tone(hz) => Some(hz),
        }
    }

    pub(super) fn account_line(&self, sip: u16) -> String {
        let codecs: Vec<&str> = self.codecs.iter().map(|c| c.account_name()).collect();
        let mut params = format!("audio_codecs={}", codecs.join(","));
        if self.srtp_mandatory {
            params.push_str(";mediaenc=srtp-mand");
        }
        match &self.registration {
            None => format!(
                "<sip:{}@{}:{sip}>;regint=0;{params}\n",
                self.name, self.address
            ),
            Some(r) => format!(
                "<sip:{}@{}>;auth_pass={};outbound=\"sip:{};transport={}\";regint=600;{params}\n",
                r.user, r.domain, r.password, r.server, r.transport
            ),
        }
    }

    pub(super) fn config_text(&self, dir: &Path, sip: u16, ctrl: u16) -> String {
        let name = &self.name;
        let address = self.address;
        let source = match self.microphone {
            Microphone::Sine => {
                "audio_source ausine,440\nausrc_srate 48000\nausrc_channels 2\n".to_owned()
            }
            Microphone::Tone(_) => format!(
                "audio_source aufile,{}\nausrc_srate {MICROPHONE_RATE}\nausrc_channels 1\n",
                dir.join(MICROPHONE_FILE).display()
            ),
        };
        let recording = if self.record {
            format!(
                "module sndfile.so\nsnd_path {}\n",
                dir.join(RECORDINGS_DIR).display()
            )
        } else {
            String::new()
        };
        format!(
            "poll_method epoll\n\
             sip_listen {address}:{sip}\n\
             net_interface {address}\n\
             dns_server 127.0.0.1:53\n\
             call_local_timeout 120\n\
             call_max_calls 4\n\
             audio_path /usr/share/baresip\n\
             audio_player aubridge,{name}-play\n\
             audio_alert aubridge,{name}-alert\n\
             {source}\
             rtp_ports {}-{}\n\
             rtp_stats yes\n\
             statmode_default off\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module g722.so\n\
             module opus.so\n\
             module srtp.so\n\
             module ausine.so\n\
             module aufile.so\n\
             module aubridge.so\n\
             {recording}\
             module_tmp account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl}\n",
            RTP_PORTS.start(),
            RTP_PORTS.end()
        )
    }
}

/// The phones' RTP ports: below the server's media port range (16384 and
/// up by default) and below the ports the system hands out for port 0
/// (32768 and up), so a port in an SDP tells who owns it.
pub const RTP_PORTS: RangeInclusive<u16> = 10000..=15999;
