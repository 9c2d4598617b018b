//! A call's media statistics as the live API and call records show them:
//! the path (relay, transcode, echo, tone, pass-through) and, per leg, what
//! was received and sent.

use sb_media_engine::{LegId, SessionStats};
use sb_switch::{MediaLegRole, MediaLegSummary, MediaSummary};

/// One call's media figures. The legs are kept in the call record's form
/// (the switch's [`MediaLegSummary`]), so a record takes them as they are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallMediaStats {
    /// `relay`, `transcode`, `echo`, `tone`, `pass-through`, `negotiating`.
    pub(crate) path: &'static str,
    /// The caller's leg first, then the callee's (the answering device).
    pub(crate) legs: Vec<MediaLegSummary>,
}

impl CallMediaStats {
    /// A call whose media does not cross the gateway.
    pub(crate) fn pass_through() -> Self {
        CallMediaStats {
            path: "pass-through",
            legs: Vec::new(),
        }
    }

    /// From the session's statistics: the caller's leg and the leg it is
    /// bridged to (every leg while none is).
    pub(crate) fn from_session(
        path: &'static str,
        stats: &SessionStats,
        bridged: Option<(LegId, LegId)>,
    ) -> Self {
        let wanted = |leg: LegId| match bridged {
            Some((a, b)) => leg == a || leg == b,
            None => true,
        };
        let mut legs: Vec<_> = stats.legs.iter().filter(|l| wanted(l.leg)).collect();
        legs.sort_by_key(|l| l.leg);
        CallMediaStats {
            path,
            legs: legs
                .into_iter()
                .map(|l| MediaLegSummary {
                    leg: if l.leg == LegId(0) {
                        MediaLegRole::Caller
                    } else {
                        MediaLegRole::Callee
                    },
                    codec: l.codec.as_ref().map(ToString::to_string),
                    packets_received: l.packets_received,
                    packets_sent: l.packets_sent,
                    bytes_received: l.bytes_received,
                    bytes_sent: l.bytes_sent,
                    packets_lost: l.packets_lost,
                    jitter_ms: l.jitter_ms,
                    frames_decoded: l.frames_decoded,
                    frames_encoded: l.frames_encoded,
                    srtp: l.srtp,
                })
                .collect(),
        }
    }

    /// The API's form (live calls; call records store it as JSON).
    pub(crate) fn to_api(&self) -> sb_http_api::MediaStats {
        sb_http_api::MediaStats {
            path: self.path.to_owned(),
            legs: self
                .legs
                .iter()
                .map(|l| sb_http_api::MediaLegStats {
                    leg: l.leg.as_str().to_owned(),
                    codec: l.codec.clone(),
                    packets_received: l.packets_received,
                    packets_sent: l.packets_sent,
                    bytes_received: l.bytes_received,
                    bytes_sent: l.bytes_sent,
                    packets_lost: l.packets_lost,
                    jitter_ms: l.jitter_ms,
                    frames_decoded: l.frames_decoded,
                    frames_encoded: l.frames_encoded,
                    srtp: l.srtp,
                })
                .collect(),
        }
    }

    /// The switch's form, for the call record.
    pub(crate) fn into_summary(self) -> MediaSummary {
        MediaSummary {
            path: self.path.to_owned(),
            legs: self.legs,
        }
    }
}

/// Sums over a session's legs, for the gateway's counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Totals {
    pub(crate) packets_received: u64,
    pub(crate) packets_sent: u64,
    pub(crate) frames_decoded: u64,
    pub(crate) frames_encoded: u64,
    pub(crate) srtp_auth_failures: u64,
}

impl Totals {
    pub(crate) fn of(stats: &SessionStats) -> Self {
        let mut t = Totals::default();
        for l in &stats.legs {
            t.packets_received += l.packets_received;
            t.packets_sent += l.packets_sent;
            t.frames_decoded += l.frames_decoded;
            t.frames_encoded += l.frames_encoded;
            t.srtp_auth_failures += l.srtp_auth_failures;
        }
        t
    }

    /// `self − earlier`, never negative (a removed leg takes its counts along).
    pub(crate) fn since(&self, earlier: &Totals) -> Totals {
        Totals {
            packets_received: self
                .packets_received
                .saturating_sub(earlier.packets_received),
            packets_sent: self.packets_sent.saturating_sub(earlier.packets_sent),
            frames_decoded: self.frames_decoded.saturating_sub(earlier.frames_decoded),
            frames_encoded: self.frames_encoded.saturating_sub(earlier.frames_encoded),
            srtp_auth_failures: self
                .srtp_auth_failures
                .saturating_sub(earlier.srtp_auth_failures),
        }
    }
}
