//! `/metrics`: a [`MetricsSnapshot`] and the API's own response counters in the
//! Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` before each
//! family, names prefixed `switchboard_`, a `node` label on every sample when configured.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::live::MetricsSnapshot;

/// The `Content-Type` of the text format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// HTTP responses sent, by status code (100–599), counted without locks.
#[derive(Debug)]
pub(crate) struct HttpCounters {
    by_status: Box<[AtomicU64]>,
}

impl Default for HttpCounters {
    fn default() -> Self {
        HttpCounters {
            by_status: (100..600).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl HttpCounters {
    /// Counts one response.
    pub(crate) fn count(&self, status: u16) {
        if let Some(counter) = status
            .checked_sub(100)
            .and_then(|i| self.by_status.get(usize::from(i)))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `(status, count)` of every status seen, ascending.
    pub(crate) fn snapshot(&self) -> Vec<(u16, u64)> {
        (100u16..)
            .zip(self.by_status.iter())
            .map(|(status, c)| (status, c.load(Ordering::Relaxed)))
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

/// Renders the exposition text.
pub fn render_metrics(
    snapshot: &MetricsSnapshot,
    http: &[(u16, u64)],
    node: Option<&str>,
) -> String {
    let mut out = Writer {
        text: String::with_capacity(4096),
        node,
    };
    let s = snapshot;
    out.single(
        "registrations",
        "gauge",
        "Registration bindings.",
        s.registrations,
    );
    out.single(
        "registered_aors",
        "gauge",
        "Addresses of record with at least one binding.",
        s.registered_aors,
    );
    out.single(
        "active_calls",
        "gauge",
        "Calls in progress.",
        s.active_calls,
    );
    out.family("calls_total", "counter", "Calls ended, by result.");
    for (result, n) in [
        ("answered", s.calls_answered),
        ("failed", s.calls_failed),
        ("cancelled", s.calls_cancelled),
    ] {
        out.sample("calls_total", Some(("result", result)), n);
    }
    out.single(
        "calls_per_second",
        "gauge",
        "Calls started in the last complete second.",
        s.calls_per_second,
    );
    out.single(
        "sip_requests_total",
        "counter",
        "SIP requests received.",
        s.sip_requests,
    );
    out.family(
        "sip_responses_total",
        "counter",
        "SIP responses sent, by status code.",
    );
    let mut code = String::with_capacity(8);
    for &(status, n) in &s.sip_responses {
        code.clear();
        write!(code, "{status}").expect("writing to a String");
        out.sample("sip_responses_total", Some(("code", &code)), n);
    }
    out.single(
        "auth_failures_total",
        "counter",
        "Failed digest authentications.",
        s.auth_failures,
    );
    out.single(
        "transactions",
        "gauge",
        "SIP transactions in progress.",
        s.transactions,
    );
    out.single(
        "malformed_total",
        "counter",
        "Unparseable SIP messages received.",
        s.malformed,
    );
    out.family(
        "trunk_registered",
        "gauge",
        "Whether a trunk is registered with its gateway (1) or not (0).",
    );
    for (trunk, registered) in &s.trunk_registered {
        out.sample(
            "trunk_registered",
            Some(("trunk", trunk)),
            u64::from(*registered),
        );
    }
    out.single(
        "cdr_write_failures_total",
        "counter",
        "Call records that could not be written.",
        s.cdr_write_failures,
    );
    out.family(
        "bans_total",
        "counter",
        "Source bans issued, by reason (rate, auth).",
    );
    for &(reason, n) in &s.bans_issued {
        out.sample("bans_total", Some(("reason", reason)), n);
    }
    for m in &s.extra {
        out.single(m.name, m.kind, m.help, m.value);
    }
    for m in &s.labelled {
        out.family(m.name, m.kind, m.help);
        for &(value, n) in &m.samples {
            out.sample(m.name, Some((m.label, value)), n);
        }
    }
    out.family(
        "http_requests_total",
        "counter",
        "HTTP responses sent, by status code.",
    );
    for &(status, n) in http {
        code.clear();
        write!(code, "{status}").expect("writing to a String");
        out.sample("http_requests_total", Some(("code", &code)), n);
    }
    out.text
}

struct Writer<'a> {
    text: String,
    node: Option<&'a str>,
}

impl Writer<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        writeln!(self.text, "# HELP switchboard_{name} {help}").expect("writing to a String");
        writeln!(self.text, "# TYPE switchboard_{name} {kind}").expect("writing to a String");
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, value: u64) {
        self.family(name, kind, help);
        self.sample(name, None, value);
    }

    fn sample(&mut self, name: &str, label: Option<(&str, &str)>, value: u64) {
        let text = &mut self.text;
        text.push_str("switchboard_");
        text.push_str(name);
        let labels = self.node.map(|n| ("node", n)).into_iter().chain(label);
        let mut first = true;
        for (key, value) in labels {
            text.push(if first { '{' } else { ',' });
            first = false;
            text.push_str(key);
            text.push_str("=\"");
            push_label_value(text, value);
            text.push('"');
        }
        if !first {
            text.push('}');
        }
        writeln!(text, " {value}").expect("writing to a String");
    }
}

/// A label value with `\`, `"` and line feeds escaped.
fn push_label_value(text: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => text.push_str("\\\\"),
            '"' => text.push_str("\\\""),
            '\n' => text.push_str("\\n"),
            c => text.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> MetricsSnapshot {
        MetricsSnapshot {
            registrations: 3,
            registered_aors: 2,
            active_calls: 1,
            calls_answered: 10,
            calls_failed: 4,
            calls_cancelled: 2,
            calls_per_second: 1,
            sip_requests: 120,
            sip_responses: vec![(200, 90), (401, 25)],
            auth_failures: 5,
            transactions: 7,
            malformed: 1,
            trunk_registered: vec![
                ("carrier\"east".to_owned(), true),
                ("backup".to_owned(), false),
            ],
            cdr_write_failures: 0,
            bans_issued: vec![("rate", 2), ("auth", 1)],
            extra: vec![crate::ExtraMetric {
                name: "media_sessions",
                kind: "gauge",
                help: "Calls with anchored media now.",
                value: 2,
            }],
            labelled: vec![crate::LabelledMetric {
                name: "sip_transport_drops_total",
                kind: "counter",
                help: "SIP messages or connections dropped by the transports, by reason.",
                label: "reason",
                samples: vec![("slow_messages", 4), ("ws_bad_frames", 0)],
            }],
        }
    }

    #[test]
    fn renders_every_family_with_help_and_type() {
        let text = render_metrics(&snapshot(), &[(200, 12), (401, 3)], None);
        for line in [
            "# HELP switchboard_registrations Registration bindings.",
            "# TYPE switchboard_registrations gauge",
            "switchboard_registrations 3",
            "switchboard_registered_aors 2",
            "switchboard_active_calls 1",
            "# TYPE switchboard_calls_total counter",
            "switchboard_calls_total{result=\"answered\"} 10",
            "switchboard_calls_total{result=\"failed\"} 4",
            "switchboard_calls_total{result=\"cancelled\"} 2",
            "switchboard_calls_per_second 1",
            "switchboard_sip_requests_total 120",
            "switchboard_sip_responses_total{code=\"401\"} 25",
            "switchboard_auth_failures_total 5",
            "switchboard_transactions 7",
            "switchboard_malformed_total 1",
            "switchboard_trunk_registered{trunk=\"carrier\\\"east\"} 1",
            "switchboard_trunk_registered{trunk=\"backup\"} 0",
            "switchboard_cdr_write_failures_total 0",
            "# TYPE switchboard_bans_total counter",
            "switchboard_bans_total{reason=\"rate\"} 2",
            "switchboard_bans_total{reason=\"auth\"} 1",
            "# TYPE switchboard_media_sessions gauge",
            "switchboard_media_sessions 2",
            "# TYPE switchboard_sip_transport_drops_total counter",
            "switchboard_sip_transport_drops_total{reason=\"slow_messages\"} 4",
            "switchboard_sip_transport_drops_total{reason=\"ws_bad_frames\"} 0",
            "switchboard_http_requests_total{code=\"200\"} 12",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Each family is announced once, before its samples.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let type_line = format!("# TYPE {name} ");
            let at = text
                .find(&type_line)
                .unwrap_or_else(|| panic!("{name} has no TYPE"));
            assert!(at < text.find(line).unwrap());
            assert_eq!(text.matches(&type_line).count(), 1);
        }
    }

    #[test]
    fn node_label_comes_first_on_every_sample() {
        let text = render_metrics(&snapshot(), &[(204, 1)], Some("node-a"));
        assert!(text.contains("switchboard_active_calls{node=\"node-a\"} 1\n"));
        assert!(text.contains("switchboard_calls_total{node=\"node-a\",result=\"answered\"} 10\n"));
        assert!(text.contains("switchboard_http_requests_total{node=\"node-a\",code=\"204\"} 1\n"));
        assert!(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .all(|l| l.contains("node=\"node-a\""))
        );
    }

    #[test]
    fn http_counters_count_by_status() {
        let counters = HttpCounters::default();
        for status in [200, 200, 404, 599, 99, 600] {
            counters.count(status);
        }
        assert_eq!(counters.snapshot(), vec![(200, 2), (404, 1), (599, 1)]);
    }
}
