//! Identity newtypes parsed at the edge: Call-ID, branch, tag, address of record.

use std::fmt;

use crate::bytestr::ByteStr;

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub ByteStr);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(ByteStr::from(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(ByteStr::from(s))
            }
        }
    };
}

id_newtype!(
    /// The Call-ID of a dialog or registration (RFC 3261 §20.8). Compared
    /// byte-for-byte, case-sensitive.
    CallId
);
id_newtype!(
    /// A Via `branch` parameter (RFC 3261 §8.1.1.7); RFC 3261 branches start
    /// with the magic cookie `z9hG4bK`.
    Branch
);
id_newtype!(
    /// A From/To `tag` (RFC 3261 §19.3).
    Tag
);
id_newtype!(
    /// An address of record in canonical form `sip:user@domain`: scheme `sip`,
    /// user part unescaped, host lower-case, no port or parameters
    /// (RFC 3261 §10.3 step 5).
    Aor
);

/// The magic cookie that starts every RFC 3261 branch (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

impl Branch {
    /// Whether the branch carries the RFC 3261 magic cookie.
    pub fn is_rfc3261(&self) -> bool {
        self.0.starts_with(BRANCH_MAGIC_COOKIE)
    }
}

impl Aor {
    /// Builds the canonical AOR for `user` at `domain`.
    pub fn new(user: &str, domain: &str) -> Aor {
        let mut text = String::with_capacity(5 + user.len() + domain.len());
        text.push_str("sip:");
        text.push_str(user);
        text.push('@');
        let domain_start = text.len();
        text.push_str(domain);
        text[domain_start..].make_ascii_lowercase();
        Aor(ByteStr::from(text))
    }

    /// The user part.
    pub fn user(&self) -> &str {
        let s = self.0.as_str();
        let rest = s.strip_prefix("sip:").unwrap_or(s);
        rest.rsplit_once('@').map_or(rest, |(user, _)| user)
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        let s = self.0.as_str();
        s.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}
