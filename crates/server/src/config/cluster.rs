//! `[cluster]`: how this node names itself among others sharing a database.

use serde::Deserialize;

/// `[cluster]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// This node's name: the `node` label of every `/metrics` sample, the `node` of
    /// `/healthz` and of the call records it writes. Empty: unnamed (a single node).
    pub node: String,
}

impl ClusterConfig {
    /// The node's name, when one is set.
    pub fn node_name(&self) -> Option<&str> {
        Some(self.node.as_str()).filter(|n| !n.is_empty())
    }

    /// A name is 1–64 letters, digits, `.`, `_` or `-` (it becomes a label value and a
    /// column value; a host name fits).
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        let n = &self.node;
        let valid = n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(())
        } else {
            Err((
                "cluster.node",
                format!("{n:?} is not a node name: up to 64 letters, digits, '.', '_' or '-'"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_tokens() {
        for good in ["", "sb-1", "node_a.example.test", &"n".repeat(64)] {
            let c = ClusterConfig { node: good.into() };
            assert!(c.check().is_ok(), "{good:?}");
        }
        for bad in ["two words", "ünï", "a\"b", &"n".repeat(65)] {
            let c = ClusterConfig { node: bad.into() };
            assert_eq!(
                c.check().map_err(|(k, _)| k),
                Err("cluster.node"),
                "{bad:?}"
            );
        }
        assert_eq!(ClusterConfig::default().node_name(), None);
        let named = ClusterConfig {
            node: "sb-1".into(),
        };
        assert_eq!(named.node_name(), Some("sb-1"));
    }
}
