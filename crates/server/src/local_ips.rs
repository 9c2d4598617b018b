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

/// The address to write into SDP for media bound to `bind`: `bind` itself,
/// or for a wildcard the first non-loopback address of that family (else
/// the loopback address).
pub(crate) fn advertised_media(bind: IpAddr) -> IpAddr {
    if !bind.is_unspecified() {
        return bind;
    }
    let interfaces: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|v| v.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    interfaces
        .iter()
        .copied()
        .find(|i| i.is_ipv4() == bind.is_ipv4() && !i.is_loopback())
        .unwrap_or(if bind.is_ipv4() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        })
}
