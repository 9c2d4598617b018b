//! Typed names: contexts, trunks, users, groups, rules and header names.
//!
//! Each wraps an `Arc<str>`, so the compiled plan and every decision share one allocation per
//! name and cloning is a reference-count increment.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps a name (no validation; the compiler validates names it reads).
            pub fn new(name: impl Into<Arc<str>>) -> Self {
                Self(name.into())
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                Self(name.into())
            }
        }

        impl From<String> for $name {
            fn from(name: String) -> Self {
                Self(name.into())
            }
        }
    };
}

name_type!(
    /// The name of a dialplan context (`[[context]] name = "internal"`).
    ContextName
);
name_type!(
    /// The name of a trunk, as configured in the server configuration.
    TrunkName
);
name_type!(
    /// A user name (the user part of an address of record).
    UserName
);
name_type!(
    /// The name of a group of users.
    GroupName
);
name_type!(
    /// The optional `name` of a dialplan rule.
    RuleName
);
name_type!(
    /// A SIP header name set by `set_header` (validated as an RFC 3261 §25.1 token).
    HeaderName
);

/// Whether `name` is usable as a context or trunk name: ASCII letters, digits, `_`, `-`, `.`.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
