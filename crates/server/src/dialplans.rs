//! Dialplan files: reading every `*.toml` file of the dialplan directory,
//! compiling them together, and reloading when a file changes or on SIGHUP.
//!
//! The files are the source of truth: an administrator edits them with a text
//! editor (or through the HTTP API, which writes the same files after checking
//! them). A reload is atomic: the new plan replaces the running one only when
//! every file compiles; otherwise each problem is logged with file:line:col and
//! the running plan stays.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sb_dialplan::{
    CallFacts, CompileOptions, ContextName, Diagnostic, Dialplan, GroupName, Severity, Source,
    SourceFile, TrunkName, UnixTime,
};

use crate::config::Config;

/// How often the directory is checked for changed files.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Why the dialplan files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DialplanLoadError {
    /// The directory or a file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The directory holds no `*.toml` file.
    #[error("{dir}: no dialplan files (*.toml)")]
    Empty {
        /// The directory.
        dir: String,
    },
    /// Some file does not compile.
    #[error("{}", render(.diagnostics))]
    Invalid {
        /// Every problem found, errors and warnings.
        diagnostics: Vec<Diagnostic>,
    },
    /// The configuration names contexts the files do not define.
    #[error("{}", .problems.join("\n"))]
    MissingContexts {
        /// One line per missing context.
        problems: Vec<String>,
    },
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// What identifies the state of the files: name, modification time and size
/// of each, in name order.
pub(crate) type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// A compiled plan and the files it came from.
#[derive(Debug)]
pub struct LoadedDialplan {
    /// The compiled plan.
    pub plan: Arc<Dialplan>,
    /// The files compiled, in order.
    pub files: Vec<PathBuf>,
    pub(crate) fingerprint: Fingerprint,
}

/// The `*.toml` files of `dir`, sorted by name.
fn dialplan_files(dir: &Path) -> Result<Vec<PathBuf>, DialplanLoadError> {
    let read_err = |source| DialplanLoadError::Read {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // A directory that does not exist holds no files (the built-in plan
        // runs until it appears).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(read_err(e)),
    };
    for entry in entries {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The current fingerprint of `dir` (files that vanish while being looked at
/// count as changed).
pub(crate) fn fingerprint(dir: &Path) -> Result<Fingerprint, DialplanLoadError> {
    Ok(dialplan_files(dir)?
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.map_or(0, |m| m.len());
            (path, modified, len)
        })
        .collect())
}

/// Reads and compiles every dialplan file of `dir`; `trunks` are the
/// configured trunk names (rules guarded by `if_trunk_configured` need them).
pub fn load(dir: &Path, trunks: &[String]) -> Result<LoadedDialplan, DialplanLoadError> {
    let fingerprint = fingerprint(dir)?;
    if fingerprint.is_empty() {
        return Err(DialplanLoadError::Empty {
            dir: dir.display().to_string(),
        });
    }
    let mut sources = Vec::with_capacity(fingerprint.len());
    for (path, _, _) in &fingerprint {
        let text = std::fs::read_to_string(path).map_err(|source| DialplanLoadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        sources.push(SourceFile {
            name: path.display().to_string(),
            text,
        });
    }
    let options = CompileOptions {
        trunks: trunks.iter().map(|t| TrunkName::from(t.as_str())).collect(),
    };
    let plan = sb_dialplan::compile(&sources, &options)
        .map_err(|diagnostics| DialplanLoadError::Invalid { diagnostics })?;
    Ok(LoadedDialplan {
        plan: Arc::new(plan),
        files: fingerprint.iter().map(|(p, _, _)| p.clone()).collect(),
        fingerprint,
    })
}

/// The configured trunk names.
pub(crate) fn trunk_names(config: &Config) -> Vec<String> {
    config.trunks.iter().map(|t| t.name.clone()).collect()
}

/// Loads the configured dialplan directory and checks that the contexts the
/// configuration names (users' start context, each trunk's context) exist.
/// When the directory does not exist, the shipped default plan (built into
/// the binary) is used.
pub fn load_configured(config: &Config) -> Result<LoadedDialplan, DialplanLoadError> {
    let dir = &config.dialplan.dir;
    let loaded = if dir.exists() {
        load(dir, &trunk_names(config))?
    } else {
        built_in(&trunk_names(config))?
    };
    let mut missing = Vec::new();
    let needed = std::iter::once(("dialplan.user_context", &config.dialplan.user_context))
        .chain(config.trunks.iter().map(|t| ("trunk.context", &t.context)));
    for (key, context) in needed {
        if !loaded.plan.has_context(context) {
            missing.push(format!(
                "`{key}` names context `{context}`, which no file in {} defines",
                config.dialplan.dir.display()
            ));
        }
    }
    if missing.is_empty() {
        Ok(loaded)
    } else {
        Err(DialplanLoadError::MissingContexts { problems: missing })
    }
}

/// One `switchboard dialplan test` question.
#[derive(Debug, Clone)]
pub struct RouteQuestion {
    /// Caller: `user` or `user@domain`.
    pub from: String,
    /// Dialed: `number`, `user` or `user@domain`.
    pub to: String,
    /// `user:NAME`, `trunk:NAME` or `unknown`; default: the calling user.
    pub source: Option<String>,
    /// Time of the call (RFC 3339 or Unix seconds); default: now.
    pub at: Option<String>,
    /// Start context; default: the one the source starts in.
    pub context: Option<String>,
}

/// Answers a [`RouteQuestion`] with the decision the running configuration
/// would make, as text for the operator.
pub fn explain_route(config: &Config, q: &RouteQuestion) -> anyhow::Result<String> {
    let loaded = load_configured(config)?;
    explain_with(
        &loaded.plan,
        config,
        &config.trunks,
        &config.user_groups(),
        q,
    )
}

/// Answers a [`RouteQuestion`] with `plan`, these trunks and these groups
/// (lower-case user name → group names).
pub(crate) fn explain_with(
    plan: &Dialplan,
    config: &Config,
    trunks: &[crate::config::TrunkConfig],
    user_groups: &std::collections::BTreeMap<String, Vec<String>>,
    q: &RouteQuestion,
) -> anyhow::Result<String> {
    let default_domain = config
        .sip
        .domains
        .first()
        .map_or("localhost", String::as_str);

    let (from_user, from_domain) = q.from.split_once('@').unwrap_or((&q.from, default_domain));
    let (to, to_domain) = q.to.split_once('@').unwrap_or((&q.to, default_domain));
    let source_text = q
        .source
        .clone()
        .unwrap_or_else(|| format!("user:{from_user}"));
    let mut source = Source::parse(&source_text).map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    let groups: Vec<GroupName> = match &source {
        Source::User { name, .. } => user_groups
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|g| GroupName::from(g.as_str()))
            .collect(),
        _ => Vec::new(),
    };
    if let Source::User { groups: g, .. } = &mut source {
        *g = &groups;
    }
    let start = match (&q.context, &source) {
        (Some(c), _) => c.clone(),
        (None, Source::Trunk { name }) => trunks
            .iter()
            .find(|t| t.name == *name)
            .map(|t| t.context.clone())
            .ok_or_else(|| anyhow::anyhow!("--source: no trunk named `{name}` is configured"))?,
        (None, _) => config.dialplan.user_context.clone(),
    };
    let at = match &q.at {
        Some(text) => text
            .parse::<UnixTime>()
            .map_err(|e| anyhow::anyhow!("--at: {e}"))?,
        None => UnixTime::from_millis(crate::sip::unix_ms()),
    };
    let context = ContextName::from(start.as_str());
    let facts = CallFacts {
        context: &context,
        from_user,
        from_domain,
        to,
        to_domain,
        source,
        at,
    };
    Ok(plan.evaluate(&facts).to_string())
}

/// Name of the built-in plan in diagnostics and `switchboard check` output.
pub const BUILT_IN: &str = "<built-in>/default.toml";

/// The shipped `dialplans/default.toml`, compiled from the copy built into
/// the binary.
fn built_in(trunks: &[String]) -> Result<LoadedDialplan, DialplanLoadError> {
    let sources = [SourceFile {
        name: BUILT_IN.to_owned(),
        text: BUILT_IN_TEXT.to_owned(),
    }];
    let options = CompileOptions {
        trunks: trunks.iter().map(|t| TrunkName::from(t.as_str())).collect(),
    };
    let plan = sb_dialplan::compile(&sources, &options)
        .map_err(|diagnostics| DialplanLoadError::Invalid { diagnostics })?;
    Ok(LoadedDialplan {
        plan: Arc::new(plan),
        files: vec![PathBuf::from(BUILT_IN)],
        fingerprint: Vec::new(),
    })
}

/// Logs a freshly compiled plan's warnings.
pub(crate) fn log_warnings(plan: &Dialplan) {
    for w in plan.warnings() {
        tracing::warn!("dialplan: {w}");
    }
}

/// The shipped `dialplans/default.toml`, built into the binary.
pub(crate) const BUILT_IN_TEXT: &str = include_str!("../../../dialplans/default.toml");

/// Logs a refused plan's problems.
pub(crate) fn log_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        match d.severity {
            Severity::Error => tracing::error!("dialplan: {d}"),
            Severity::Warning => tracing::warn!("dialplan: {d}"),
        }
    }
}

/// Watches the dialplan directory: when the files change (checked every
/// second) or SIGHUP arrives, compiles them again and hands a good plan to
/// the switch task; a bad one is logged and the running plan stays. Returns
/// when the switch task has stopped.
pub(crate) async fn watch(files: Arc<crate::dialplan_edit::DialplanFiles>) {
    let mut hangup = signal_hangup();
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            () = next_hangup(&mut hangup) => true,
        };
        if !files.reload_if_changed(forced).await {
            return;
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn signal_hangup() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn signal_hangup() -> Hangup {}

#[cfg(unix)]
async fn next_hangup(hangup: &mut Hangup) {
    match hangup {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangup) {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[context]]
name = "internal"

[[context.rule]]
to = "_1XXX"
actions = [{ ring_user = "${to}" }]
"#;

    #[test]
    fn loads_every_toml_file_and_reports_problems_with_positions() {
        let dir = tempfile::tempdir().unwrap();
        assert!(fingerprint(&dir.path().join("missing")).unwrap().is_empty());
        assert!(matches!(
            load(dir.path(), &[]),
            Err(DialplanLoadError::Empty { .. })
        ));
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a dialplan").unwrap();
        let loaded = load(dir.path(), &[]).unwrap();
        assert_eq!(loaded.files, vec![dir.path().join("a.toml")]);
        assert!(loaded.plan.has_context("internal"));

        std::fs::write(
            dir.path().join("b.toml"),
            "[[context]]\nname = \"x\"\n\n[[context.rule]]\nto = \"_1[\"\nactions = [\"echo\"]\n",
        )
        .unwrap();
        let err = load(dir.path(), &[]).unwrap_err().to_string();
        assert!(err.contains("b.toml:5:"), "{err}");
    }

    #[test]
    fn the_fingerprint_changes_with_the_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        let before = fingerprint(dir.path()).unwrap();
        std::fs::write(dir.path().join("a.toml"), format!("{GOOD}\n# more\n")).unwrap();
        assert_ne!(fingerprint(dir.path()).unwrap(), before);
    }

    #[test]
    fn the_shipped_dialplans_compile() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplans");
        let loaded = load(&dir, &[]).unwrap();
        assert!(loaded.plan.has_context("internal"));
        assert!(loaded.plan.has_context("from-trunk"));
        load(&dir, &["default".to_owned()]).unwrap();
    }

    #[test]
    fn without_a_directory_the_built_in_plan_routes_calls() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.dialplan.dir = dir.path().join("absent");
        let loaded = load_configured(&config).unwrap();
        assert_eq!(loaded.files, vec![PathBuf::from(BUILT_IN)]);
        let answer = explain_route(
            &config,
            &RouteQuestion {
                from: "alice".into(),
                to: "1001".into(),
                source: None,
                at: Some("2026-11-21T09:30:00Z".into()),
                context: None,
            },
        )
        .unwrap();
        assert!(answer.contains("1001"), "{answer}");
    }

    #[test]
    fn a_context_the_configuration_names_must_exist() {
        let mut config = Config::default();
        config.dialplan.dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplans");
        config.dialplan.user_context = "nowhere".into();
        let err = load_configured(&config).unwrap_err().to_string();
        assert!(err.contains("`nowhere`"), "{err}");
    }

    #[test]
    fn dialplan_test_knows_the_configured_groups() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.toml"),
            r#"
[[context]]
name = "internal"

[[context.rule]]
name = "sales"
to = "_9."
source = { group = "sales" }
actions = [{ reject = { code = 488 } }]
"#,
        )
        .unwrap();
        let mut config = Config::default();
        config.dialplan.dir = dir.path().to_path_buf();
        config.groups.insert("sales".into(), vec!["Alice".into()]);
        let ask = |from: &str| {
            explain_route(
                &config,
                &RouteQuestion {
                    from: from.into(),
                    to: "95550100".into(),
                    source: None,
                    at: None,
                    context: None,
                },
            )
            .unwrap()
        };
        assert!(ask("alice").contains("\"sales\""), "{}", ask("alice"));
        assert!(ask("bob").contains("no rule matched"), "{}", ask("bob"));
    }
}
