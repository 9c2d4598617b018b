//! The IP addresses requests may name when they are meant for this server.

use std::net::IpAddr;

use crate::config::Listen;

/// The listeners' addresses; for a wildcard listener, every address of the
/// machine's interfaces (of that family).
pub(crate) fn for_listeners(listen: &[Listen]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    let interfaces: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|v| v.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    for l in listen {
        let ip = l.addr.ip();
        if ip.is_unspecified() {
            for i in &interfaces {
                if i.is_ipv4() == ip.is_ipv4() && !out.contains(i) {
                    out.push(*i);
                }
            }
        } else if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}
