//! `[cluster]`: how this node names itself among others sharing a database, and where
//! the others reach it.

use serde::Deserialize;

/// `[cluster]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// This node's name: the `node` label of every `/metrics` sample, the `node` of
    /// `/healthz` and of the call records it writes. Empty: unnamed (a single node).
    /// With a PostgreSQL database a name makes the node part of a cluster.
    pub node: String,
    /// `host:port` where the other nodes reach this node's SIP UDP listener. Empty: the
    /// first UDP listener's bound address (which must then name an interface, not
    /// `0.0.0.0`).
    pub address: String,
}

impl ClusterConfig {
    /// The node's name, when one is set.
    pub fn node_name(&self) -> Option<&str> {
        Some(self.node.as_str()).filter(|n| !n.is_empty())
    }

    /// A name is 1–64 letters, digits, `.`, `_` or `-` (it becomes a label value and a
    /// column value; a host name fits); an address is `host:port`.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        let n = &self.node;
        let valid = n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid {
            return Err((
                "cluster.node",
                format!("{n:?} is not a node name: up to 64 letters, digits, '.', '_' or '-'"),
            ));
        }
        let a = self.address.trim();
        let port = a
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        match port {
            None if a.is_empty() => Ok(()),
            Some((host, Ok(port))) if !host.is_empty() && port != 0 => Ok(()),
            _ => Err((
                "cluster.address",
                format!("{a:?} is not host:port (e.g. \"10.0.0.11:5060\")"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_tokens() {
        for good in ["", "sb-1", "node_a.example.test", &"n".repeat(64)] {
            let c = ClusterConfig {
                node: good.into(),
                ..ClusterConfig::default()
            };
            assert!(c.check().is_ok(), "{good:?}");
        }
        for bad in ["two words", "ünï", "a\"b", &"n".repeat(65)] {
            let c = ClusterConfig {
                node: bad.into(),
                ..ClusterConfig::default()
            };
            assert_eq!(
                c.check().map_err(|(k, _)| k),
                Err("cluster.node"),
                "{bad:?}"
            );
        }
        assert_eq!(ClusterConfig::default().node_name(), None);
        for good in ["10.0.0.11:5060", "node1:5060", "[2001:db8::1]:5070"] {
            let c = ClusterConfig {
                address: good.into(),
                ..ClusterConfig::default()
            };
            assert!(c.check().is_ok(), "{good:?}");
        }
        for bad in ["10.0.0.11", ":5060", "node1:0", "node1:sip"] {
            let c = ClusterConfig {
                address: bad.into(),
                ..ClusterConfig::default()
            };
            assert_eq!(
                c.check().map_err(|(k, _)| k),
                Err("cluster.address"),
                "{bad:?}"
            );
        }
        let named = ClusterConfig {
            node: "sb-1".into(),
            ..ClusterConfig::default()
        };
        assert_eq!(named.node_name(), Some("sb-1"));
    }
}
