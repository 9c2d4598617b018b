//! The user directory: who the users are beyond their credentials — their
//! extensions, call groups, the dialplan context their calls start in and
//! the numbers they may call. The server pushes it ([`UserDirectory`]) with
//! [`crate::Switch::set_directory`] whenever users or groups change; the
//! switch compiles it once into hash maps so that the INVITE path only looks
//! things up (two `&str` lookups, no allocation).
//!
//! Users are keyed as the credential cache keys them: the user name exactly
//! as stored (case-sensitive) within its domain (lower case). A ring target
//! is a listed user's name first, else a listed extension. A caller the
//! directory does not list still gets the groups of the configuration
//! ([`crate::CallPolicy::user_groups`]) with those groups' policies.

use std::collections::{BTreeMap, HashMap};

use foldhash::fast::FixedState;
use sb_dialplan::{ContextName, GroupName, NumberPattern};

/// Who the users are, beyond credentials: pushed by the server whenever users
/// or groups change ([`crate::Switch::set_directory`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDirectory {
    /// Every user the switch should know about.
    pub users: Vec<DirectoryUser>,
    /// The call groups with their policy.
    pub groups: Vec<GroupPolicy>,
}

/// One user of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryUser {
    /// User name, exactly as the credentials name it.
    pub username: String,
    /// The user's domain (compared without regard to ASCII case).
    pub domain: String,
    /// A number that rings this user: a dialplan `ring_user` target equal to
    /// it (in the call's domain) rings the user.
    pub extension: Option<String>,
    /// The dialplan context the user's calls start in (before any group's).
    pub context: Option<String>,
    /// Call groups, in order (the first with a context gives the start
    /// context when the user has none).
    pub groups: Vec<String>,
    /// Number patterns the user may call (empty: no restriction of its own).
    pub allow: Vec<String>,
    /// Number patterns the user may not call.
    pub deny: Vec<String>,
}

/// A call group's policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPolicy {
    /// The group name (as the dialplan's `source = { group = … }` names it).
    pub name: String,
    /// The context calls of members start in, when the member has none.
    pub context: Option<String>,
    /// Number patterns members may call (empty: no restriction of its own).
    pub allow: Vec<String>,
    /// Number patterns members may not call.
    pub deny: Vec<String>,
}

/// Why a directory was refused by [`crate::Switch::set_directory`] (which
/// then changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// A user's `allow` or `deny` entry is not a number pattern.
    #[error("user {username}@{domain}: bad {list} pattern `{pattern}`: {reason}")]
    UserPattern {
        /// The user name.
        username: String,
        /// The user's domain.
        domain: String,
        /// `allow` or `deny`.
        list: &'static str,
        /// The pattern as given.
        pattern: String,
        /// Why it does not compile.
        reason: String,
    },
    /// A group's `allow` or `deny` entry is not a number pattern.
    #[error("group {group}: bad {list} pattern `{pattern}`: {reason}")]
    GroupPattern {
        /// The group name.
        group: String,
        /// `allow` or `deny`.
        list: &'static str,
        /// The pattern as given.
        pattern: String,
        /// Why it does not compile.
        reason: String,
    },
    /// The same user twice.
    #[error("user {username}@{domain} is listed twice")]
    DuplicateUser {
        /// The user name.
        username: String,
        /// The domain.
        domain: String,
    },
    /// Two users with the same extension in one domain.
    #[error("extension {extension} at {domain} belongs to both {first} and {second}")]
    DuplicateExtension {
        /// The extension.
        extension: String,
        /// The domain.
        domain: String,
        /// The user listed first.
        first: String,
        /// The other user.
        second: String,
    },
    /// The same group twice.
    #[error("group {name} is listed twice")]
    DuplicateGroup {
        /// The group name.
        name: String,
    },
}

/// A user as the call path needs it.
#[derive(Debug)]
pub(crate) struct UserEntry {
    username: Box<str>,
    /// The start context: the user's, else its first group's with one.
    pub(crate) context: Option<ContextName>,
    /// Directory groups, then configured groups not among them.
    pub(crate) groups: Box<[GroupName]>,
    /// The user's groups that have a policy (indexes into `Directory::groups`).
    policies: Box<[u32]>,
    allow: Box<[NumberPattern]>,
    deny: Box<[NumberPattern]>,
    /// The user or one of its groups has a non-empty allow list.
    restricted: bool,
}

#[derive(Debug)]
struct GroupEntry {
    context: Option<ContextName>,
    allow: Box<[NumberPattern]>,
    deny: Box<[NumberPattern]>,
}

/// The users of one domain, by name and by extension.
#[derive(Debug)]
struct DomainUsers {
    by_name: HashMap<Box<str>, u32, FixedState>,
    by_extension: HashMap<Box<str>, u32, FixedState>,
}

/// The compiled directory.
#[derive(Debug)]
pub(crate) struct Directory {
    domains: HashMap<Box<str>, DomainUsers, FixedState>,
    users: Vec<UserEntry>,
    groups: Vec<GroupEntry>,
    /// Users the directory does not list but the configuration gives
    /// groups ([`crate::CallPolicy::user_groups`]), by lower-case name.
    configured: HashMap<Box<str>, UserEntry, FixedState>,
}

type Patterns = (Box<[NumberPattern]>, Box<[NumberPattern]>);

impl UserEntry {
    /// A user with its own `context` and patterns, directory groups `names`
    /// and configured groups `extra` (appended when not listed already),
    /// resolved against the compiled groups.
    fn new(
        username: &str,
        context: Option<&str>,
        mut names: Vec<GroupName>,
        extra: Option<&Vec<GroupName>>,
        (allow, deny): Patterns,
        (groups, index): (&[GroupEntry], &HashMap<String, u32, FixedState>),
    ) -> UserEntry {
        for g in extra.into_iter().flatten() {
            if !names.contains(g) {
                names.push(g.clone());
            }
        }
        let policies: Box<[u32]> = names
            .iter()
            .filter_map(|g| index.get(g.as_str()).copied())
            .collect();
        let context = context.map(ContextName::from).or_else(|| {
            policies
                .iter()
                .find_map(|&i| groups[i as usize].context.clone())
        });
        let restricted = !allow.is_empty()
            || policies
                .iter()
                .any(|&i| !groups[i as usize].allow.is_empty());
        UserEntry {
            username: username.into(),
            context,
            groups: names.into_boxed_slice(),
            policies,
            allow,
            deny,
            restricted,
        }
    }
}

fn compile_list(
    list: Vec<String>,
    bad: impl Fn(String, String) -> DirectoryError,
) -> Result<Box<[NumberPattern]>, DirectoryError> {
    list.into_iter()
        .map(|text| match NumberPattern::parse(&text) {
            Ok(p) => Ok(p),
            Err(sb_dialplan::DialplanError::BadPattern { reason, .. }) => Err(bad(text, reason)),
            Err(other) => Err(bad(text, other.to_string())),
        })
        .collect()
}

impl Directory {
    /// Compiles `dir`; `configured` are the groups of the configuration
    /// ([`crate::CallPolicy::user_groups`], by lower-case user name).
    pub(crate) fn compile(
        dir: UserDirectory,
        configured: &BTreeMap<String, Vec<GroupName>>,
        seed: u64,
    ) -> Result<Directory, DirectoryError> {
        let hasher = || FixedState::with_seed(seed);
        let mut group_index: HashMap<String, u32, FixedState> =
            HashMap::with_capacity_and_hasher(dir.groups.len(), hasher());
        let mut groups = Vec::with_capacity(dir.groups.len());
        for g in dir.groups {
            let index = u32::try_from(groups.len()).unwrap_or(u32::MAX);
            let bad = |list: &'static str| {
                let group = g.name.clone();
                move |pattern, reason| DirectoryError::GroupPattern {
                    group: group.clone(),
                    list,
                    pattern,
                    reason,
                }
            };
            let allow = compile_list(g.allow, bad("allow"))?;
            let deny = compile_list(g.deny, bad("deny"))?;
            if group_index.insert(g.name.clone(), index).is_some() {
                return Err(DirectoryError::DuplicateGroup { name: g.name });
            }
            groups.push(GroupEntry {
                context: g.context.as_deref().map(ContextName::from),
                allow,
                deny,
            });
        }
        let mut domains: HashMap<Box<str>, DomainUsers, FixedState> =
            HashMap::with_hasher(hasher());
        let mut users = Vec::with_capacity(dir.users.len());
        for u in dir.users {
            let bad = |list: &'static str| {
                let (username, domain) = (u.username.clone(), u.domain.clone());
                move |pattern, reason| DirectoryError::UserPattern {
                    username: username.clone(),
                    domain: domain.clone(),
                    list,
                    pattern,
                    reason,
                }
            };
            let allow = compile_list(u.allow, bad("allow"))?;
            let deny = compile_list(u.deny, bad("deny"))?;
            let names: Vec<GroupName> = u.groups.iter().map(|g| g.as_str().into()).collect();
            let lower = u.username.to_ascii_lowercase();
            let entry = UserEntry::new(
                u.username.as_str(),
                u.context.as_deref(),
                names,
                configured.get(&lower),
                (allow, deny),
                (&groups, &group_index),
            );
            let index = u32::try_from(users.len()).unwrap_or(u32::MAX);
            let domain = domains
                .entry(u.domain.to_ascii_lowercase().into_boxed_str())
                .or_insert_with(|| DomainUsers {
                    by_name: HashMap::with_hasher(hasher()),
                    by_extension: HashMap::with_hasher(hasher()),
                });
            if domain
                .by_name
                .insert(u.username.as_str().into(), index)
                .is_some()
            {
                return Err(DirectoryError::DuplicateUser {
                    username: u.username,
                    domain: u.domain,
                });
            }
            if let Some(ext) = u.extension.filter(|e| !e.is_empty())
                && let Some(first) = domain.by_extension.insert(ext.as_str().into(), index)
            {
                return Err(DirectoryError::DuplicateExtension {
                    extension: ext,
                    domain: u.domain,
                    first: users
                        .get(first as usize)
                        .map_or_else(String::new, |e: &UserEntry| e.username.to_string()),
                    second: u.username,
                });
            }
            users.push(entry);
        }
        let mut by_name = HashMap::with_capacity_and_hasher(configured.len(), hasher());
        by_name.extend(configured.iter().map(|(name, list)| {
            let entry = UserEntry::new(
                name,
                None,
                Vec::new(),
                Some(list),
                (Box::default(), Box::default()),
                (&groups, &group_index),
            );
            (name.as_str().into(), entry)
        }));
        Ok(Directory {
            domains,
            users,
            groups,
            configured: by_name,
        })
    }

    /// A user the directory does not list, with groups from the
    /// configuration: `name` as the caller wrote it (any case).
    pub(crate) fn configured_user(&self, name: &str) -> Option<&UserEntry> {
        if self.configured.is_empty() {
            None
        } else if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.configured.get(name.to_ascii_lowercase().as_str())
        } else {
            self.configured.get(name)
        }
    }

    /// The user `username` of `domain` (lower case), when listed.
    pub(crate) fn user(&self, domain: &str, username: &str) -> Option<&UserEntry> {
        let index = *self.domains.get(domain)?.by_name.get(username)?;
        self.users.get(index as usize)
    }

    /// The user a ring target means in `domain` (lower case): a listed user
    /// of that name, else the user with that extension, else the target as
    /// written.
    pub(crate) fn ring_target<'a>(&'a self, domain: &str, target: &'a str) -> &'a str {
        let Some(users) = self.domains.get(domain) else {
            return target;
        };
        if users.by_name.contains_key(target) {
            return target;
        }
        match users.by_extension.get(target) {
            Some(&i) => self.users.get(i as usize).map_or(target, |u| &u.username),
            None => target,
        }
    }

    /// Whether `user` may call `number` (as dialed): no `deny` pattern of
    /// the user or its groups matches, and, when the user or one of its
    /// groups lists what is allowed, one of those patterns matches.
    pub(crate) fn permits(&self, user: &UserEntry, number: &str) -> bool {
        let group = |i: &u32| &self.groups[*i as usize];
        let denied = user.deny.iter().any(|p| p.matches(number))
            || user
                .policies
                .iter()
                .any(|i| group(i).deny.iter().any(|p| p.matches(number)));
        if denied {
            return false;
        }
        !user.restricted
            || user.allow.iter().any(|p| p.matches(number))
            || user
                .policies
                .iter()
                .any(|i| group(i).allow.iter().any(|p| p.matches(number)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, ext: Option<&str>, groups: &[&str]) -> DirectoryUser {
        DirectoryUser {
            username: name.into(),
            domain: "Example.TEST".into(),
            extension: ext.map(Into::into),
            groups: groups.iter().map(|g| (*g).into()).collect(),
            ..DirectoryUser::default()
        }
    }

    fn group(name: &str, context: Option<&str>, allow: &[&str], deny: &[&str]) -> GroupPolicy {
        GroupPolicy {
            name: name.into(),
            context: context.map(Into::into),
            allow: allow.iter().map(|p| (*p).into()).collect(),
            deny: deny.iter().map(|p| (*p).into()).collect(),
        }
    }

    #[test]
    fn permissions_contexts_and_extensions() {
        let mut configured = BTreeMap::new();
        configured.insert("alice".to_owned(), vec![GroupName::from("night")]);
        let dir = UserDirectory {
            users: vec![
                DirectoryUser {
                    deny: vec!["_1900.".into()],
                    ..user("Alice", Some("100"), &["local", "sales"])
                },
                user("bob", Some("101"), &["night"]),
                DirectoryUser {
                    context: Some("own".into()),
                    allow: vec!["911".into()],
                    ..user("carol", None, &["sales"])
                },
                user("dave", None, &[]),
            ],
            groups: vec![
                group("local", None, &["_1XX", "_0[1-9]."], &[]),
                group("sales", Some("sales-ctx"), &[], &["_00."]),
                group("night", Some("night-ctx"), &[], &[]),
            ],
        };
        let d = Directory::compile(dir, &configured, 1).unwrap();
        // Configured groups are matched by lower-case name ("Alice" → "alice").
        let alice = d.user("example.test", "Alice").unwrap();
        let names: Vec<&str> = alice.groups.iter().map(GroupName::as_str).collect();
        assert_eq!(names, ["local", "sales", "night"]);
        assert_eq!(alice.context.as_ref().unwrap().as_str(), "sales-ctx");
        assert!(d.permits(alice, "101"));
        assert!(d.permits(alice, "0301234"));
        assert!(!d.permits(alice, "0049301234"), "the group's deny wins");
        assert!(!d.permits(alice, "19001234"), "the user's deny");
        assert!(!d.permits(alice, "9999"), "local's allow list restricts");
        assert!(d.user("example.test", "alice").is_none(), "names are exact");

        let bob = d.user("example.test", "bob").unwrap();
        assert_eq!(bob.context.as_ref().unwrap().as_str(), "night-ctx");
        assert!(d.permits(bob, "0049301234"), "no restriction");
        let carol = d.user("example.test", "carol").unwrap();
        assert_eq!(carol.context.as_ref().unwrap().as_str(), "own");
        assert!(d.permits(carol, "911"));
        assert!(!d.permits(carol, "100"));
        let dave = d.user("example.test", "dave").unwrap();
        assert!(dave.context.is_none());
        assert!(d.permits(dave, "anything"));

        assert_eq!(d.ring_target("example.test", "100"), "Alice");
        assert_eq!(d.ring_target("example.test", "101"), "bob");
        assert_eq!(d.ring_target("example.test", "bob"), "bob");
        assert_eq!(d.ring_target("example.test", "102"), "102");
        assert_eq!(d.ring_target("other.test", "100"), "100");
    }

    #[test]
    fn bad_directories_name_the_problem() {
        let err = |dir| Directory::compile(dir, &BTreeMap::new(), 1).unwrap_err();
        let e = err(UserDirectory {
            users: vec![DirectoryUser {
                allow: vec!["_00.".into(), "_9.1".into()],
                ..user("alice", None, &[])
            }],
            groups: Vec::new(),
        });
        assert_eq!(
            e.to_string(),
            "user alice@Example.TEST: bad allow pattern `_9.1`: `.` and `!` must end the pattern"
        );
        let e = err(UserDirectory {
            users: Vec::new(),
            groups: vec![group("sales", None, &[], &[""])],
        });
        assert_eq!(
            e,
            DirectoryError::GroupPattern {
                group: "sales".into(),
                list: "deny",
                pattern: String::new(),
                reason: "empty pattern".into(),
            }
        );
        let e = err(UserDirectory {
            users: vec![user("a", Some("7"), &[]), user("b", Some("7"), &[])],
            groups: Vec::new(),
        });
        assert_eq!(
            e.to_string(),
            "extension 7 at Example.TEST belongs to both a and b"
        );
        let e = err(UserDirectory {
            users: vec![user("a", None, &[]), user("a", None, &[])],
            groups: Vec::new(),
        });
        assert!(matches!(e, DirectoryError::DuplicateUser { .. }));
        let e = err(UserDirectory {
            users: Vec::new(),
            groups: vec![group("g", None, &[], &[]), group("g", None, &[], &[])],
        });
        assert!(matches!(e, DirectoryError::DuplicateGroup { .. }));
    }
}
