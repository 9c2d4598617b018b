//! Which hosts mean "this server": served domains (configured, plus the domains
//! of users in the database) and the server's own IP addresses.

use std::net::IpAddr;

use sb_sip_message::{Host, Peer};

/// The served domains and local addresses.
#[derive(Debug, Clone)]
pub(crate) struct Domains {
    configured: Vec<String>,
    from_users: Vec<String>,
    local_ips: Vec<IpAddr>,
}

impl Domains {
    pub(crate) fn new(configured: Vec<String>, local_ips: Vec<IpAddr>) -> Domains {
        Domains {
            configured: configured
                .into_iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            from_users: Vec::new(),
            local_ips,
        }
    }

    pub(crate) fn set_user_domains(&mut self, domains: Vec<String>) {
        self.from_users = domains
            .into_iter()
            .map(|d| d.to_ascii_lowercase())
            .collect();
    }

    /// The domain requests addressed to an IP of this server belong to.
    pub(crate) fn default_domain(&self) -> &str {
        &self.configured[0]
    }

    /// The served domain (lower case) `domain` names in any case.
    fn canonical(&self, domain: &str) -> Option<&str> {
        self.configured
            .iter()
            .chain(&self.from_users)
            .find(|d| d.eq_ignore_ascii_case(domain))
            .map(String::as_str)
    }

    /// The served domain (lower case) `domain` names, when it is served.
    pub(crate) fn served(&self, domain: &str) -> Option<&str> {
        self.canonical(domain)
    }

    /// Whether `ip` is one of this server's addresses, or the address the
    /// message arrived at.
    pub(crate) fn is_local_ip(&self, ip: IpAddr, peer: &Peer) -> bool {
        self.local_ips.contains(&ip) || (!peer.local.ip().is_unspecified() && peer.local.ip() == ip)
    }

    /// The served domain `host` stands for: itself when served, the default
    /// domain when it is one of our addresses, `None` otherwise.
    pub(crate) fn resolve(&self, host: &Host, peer: &Peer) -> Option<&str> {
        match host {
            Host::Domain(d) => self.canonical(d),
            other => {
                let ip = other.ip().expect("an address host has an IP");
                self.is_local_ip(ip, peer).then(|| self.default_domain())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sb_sip_message::{ByteStr, Transport};

    use super::*;

    fn peer() -> Peer {
        Peer {
            transport: Transport::Udp,
            remote: "192.0.2.1:5060".parse().unwrap(),
            local: "192.0.2.10:5060".parse().unwrap(),
            flow: None,
        }
    }

    #[test]
    fn resolves_domains_and_local_addresses() {
        let mut d = Domains::new(
            vec!["Example.TEST".into()],
            vec!["192.0.2.10".parse().unwrap()],
        );
        assert_eq!(
            d.resolve(&Host::Domain(ByteStr::from("EXAMPLE.test")), &peer()),
            Some("example.test")
        );
        assert_eq!(
            d.resolve(&Host::Domain(ByteStr::from("other.test")), &peer()),
            None
        );
        d.set_user_domains(vec!["other.test".into()]);
        assert_eq!(d.canonical("OTHER.test"), Some("other.test"));
        assert_eq!(
            d.resolve(&Host::Ipv4("192.0.2.10".parse().unwrap()), &peer()),
            Some("example.test")
        );
        assert_eq!(
            d.resolve(&Host::Ipv4("192.0.2.99".parse().unwrap()), &peer()),
            None
        );
    }
}
