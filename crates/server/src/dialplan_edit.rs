//! The dialplan directory as one editable, versioned resource: the HTTP API
//! reads, replaces and deletes files through it, and the watcher reloads
//! through it, so that a file written by the API and the poll that notices
//! it never race.
//!
//! Every write is checked first: the whole plan is compiled with the file
//! replaced (or removed) and must define the contexts users and trunks start
//! in. Only then is the file written (a temporary file renamed over the old
//! one, so a crash leaves either version, never half of one), the text
//! recorded as a new version in the store, and the compiled plan handed to
//! the switch. Texts changed on disk by an editor are recorded as versions
//! (author `file`) when they are loaded, so the history holds every plan that
//! ran.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sb_dialplan::{CompileOptions, Diagnostic, Severity, SourceFile, TrunkName};
use sb_store::Store;
use tokio::sync::{Mutex, mpsc};

use crate::dialplans::{self, BUILT_IN, DialplanLoadError, Fingerprint, LoadedDialplan};
use crate::sip::Control;

/// Author recorded for texts that changed on disk.
const FILE_AUTHOR: &str = "file";

/// Why an edit was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EditError {
    /// The name cannot be a dialplan file name.
    #[error("{0}")]
    BadName(String),
    /// No such file.
    #[error("no dialplan named `{0}`")]
    NotFound(String),
    /// The plan would not compile (or lacks a needed context).
    #[error("{}", render(.0))]
    Invalid(Vec<Problem>),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
}

/// Problems as one line: `file:line:col: message` where positioned, `; `
/// between them.
fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| {
            if p.line == 0 {
                p.message.clone()
            } else {
                format!("{}:{}:{}: {}", p.file, p.line, p.column, p.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One problem of a refused plan, positioned when it has a position.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) message: String,
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Problem {
        Problem {
            file: d.file.clone(),
            line: d.line,
            column: d.column,
            message: d.error.to_string(),
        }
    }
}

/// A file of the directory.
#[derive(Debug, Clone)]
pub(crate) struct FileInfo {
    pub(crate) name: String,
    pub(crate) content: String,
    pub(crate) version: Option<i64>,
    pub(crate) updated_unix_ms: Option<i64>,
}

/// What the plan must provide besides compiling: the trunk names rules may
/// name and the contexts calls start in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Requirements {
    pub(crate) trunks: Vec<String>,
    /// (what names it, context).
    pub(crate) contexts: Vec<(String, String)>,
}

#[derive(Debug)]
struct State {
    requirements: Requirements,
    fingerprint: Fingerprint,
}

/// The dialplan directory, shared by the API and the watcher.
#[derive(Debug)]
pub(crate) struct DialplanFiles {
    dir: PathBuf,
    store: Store,
    control: mpsc::Sender<Control>,
    state: Mutex<State>,
}

impl DialplanFiles {
    pub(crate) fn new(
        dir: PathBuf,
        store: Store,
        control: mpsc::Sender<Control>,
        requirements: Requirements,
        fingerprint: Fingerprint,
    ) -> Arc<DialplanFiles> {
        Arc::new(DialplanFiles {
            dir,
            store,
            control,
            state: Mutex::new(State {
                requirements,
                fingerprint,
            }),
        })
    }

    /// Checks that the running files satisfy new requirements (a trunk added
    /// or removed, a trunk's context changed); when they do, they apply from
    /// now on (and the plan is recompiled with them).
    pub(crate) async fn set_requirements(&self, r: Requirements) -> Result<(), EditError> {
        let mut state = self.state.lock().await;
        let sources = self.read_sources().map_err(EditError::Io)?;
        let loaded = compile(&sources, &r)?;
        state.requirements = r;
        let _ = self.control.send(Control::Dialplan(loaded.plan)).await;
        Ok(())
    }

    /// The plan the files make now.
    pub(crate) async fn current(&self) -> Result<Arc<sb_dialplan::Dialplan>, EditError> {
        let state = self.state.lock().await;
        let sources = self.read_sources().map_err(EditError::Io)?;
        Ok(compile(&sources, &state.requirements)?.plan)
    }

    /// Every file, in name order, with the version its text was recorded as.
    pub(crate) async fn list(&self) -> Result<Vec<FileInfo>, EditError> {
        let _state = self.state.lock().await;
        let mut out = Vec::new();
        for (name, content) in self.read_files().map_err(EditError::Io)? {
            out.push(self.describe(name, content).await?);
        }
        Ok(out)
    }

    /// One file.
    pub(crate) async fn get(&self, name: &str) -> Result<FileInfo, EditError> {
        check_name(name)?;
        let _state = self.state.lock().await;
        let content = self
            .read_files()
            .map_err(EditError::Io)?
            .into_iter()
            .find_map(|(n, text)| (n == name).then_some(text))
            .ok_or_else(|| EditError::NotFound(name.to_owned()))?;
        self.describe(name.to_owned(), content).await
    }

    /// Replaces (or creates) a file; with `dry_run`, only checks. Returns
    /// the recorded version (`None` on a dry run).
    pub(crate) async fn save(
        &self,
        name: &str,
        content: &str,
        author: &str,
        dry_run: bool,
    ) -> Result<Option<i64>, EditError> {
        check_name(name)?;
        let mut state = self.state.lock().await;
        let (sources, _) = self.sources_with(name, content)?;
        let loaded = compile(&sources, &state.requirements)?;
        if dry_run {
            return Ok(None);
        }
        self.write_file(name, content)?;
        let version = self
            .store
            .add_dialplan_version(name, content, author)
            .await
            .map_err(|e| EditError::Io(e.to_string()))?;
        self.note_written(&mut state)?;
        dialplans::log_warnings(&loaded.plan);
        tracing::info!(
            file = name,
            version = version.version,
            author,
            "dialplan saved"
        );
        let _ = self.control.send(Control::Dialplan(loaded.plan)).await;
        Ok(Some(version.version))
    }

    /// Takes the newest text another node recorded for file `name` (cluster
    /// mode: the nodes share the history, so an edit through any node's API
    /// reaches every node). When it differs from this node's file and the
    /// whole plan compiles with it, the file is written and the plan applied,
    /// without recording a new version; otherwise nothing changes (a text
    /// that does not compile here is logged, the running plan stays).
    /// Returns whether the plan changed.
    pub(crate) async fn adopt_latest(&self, name: &str) -> Result<bool, EditError> {
        check_name(name)?;
        let Some(latest) = self
            .store
            .latest_dialplan_version(name)
            .await
            .map_err(|e| EditError::Io(e.to_string()))?
        else {
            return Ok(false);
        };
        let mut state = self.state.lock().await;
        let (sources, unchanged) = self.sources_with(name, &latest.content)?;
        if unchanged {
            return Ok(false);
        }
        let loaded = compile(&sources, &state.requirements)?;
        self.write_file(name, &latest.content)?;
        self.note_written(&mut state)?;
        dialplans::log_warnings(&loaded.plan);
        tracing::info!(
            file = name,
            version = latest.version,
            author = %latest.author,
            "dialplan taken from the cluster"
        );
        let _ = self.control.send(Control::Dialplan(loaded.plan)).await;
        Ok(true)
    }

    /// [`DialplanFiles::adopt_latest`] for every file of this node (at the
    /// start of a cluster node, and after notifications were missed): the
    /// cluster's newest texts win over what this node had on disk.
    pub(crate) async fn adopt_cluster_texts(&self) {
        let names = match self.read_files() {
            Ok(files) => files.into_iter().map(|(name, _)| name).collect::<Vec<_>>(),
            Err(e) => {
                tracing::warn!("dialplan: {e}");
                return;
            }
        };
        for name in names {
            if let Err(e) = self.adopt_latest(&name).await {
                tracing::error!(file = %name, error = %e, "the cluster's dialplan text not taken");
            }
        }
    }

    /// Deletes a file when the rest still makes a valid plan.
    pub(crate) async fn delete(&self, name: &str, author: &str) -> Result<(), EditError> {
        check_name(name)?;
        let mut state = self.state.lock().await;
        let path = self.path_of(name);
        if !path.is_file() {
            // Also the built-in plan: there is no file to delete.
            return Err(EditError::NotFound(name.to_owned()));
        }
        let mut sources = self.read_sources().map_err(EditError::Io)?;
        let file = format!("{name}.toml");
        sources.retain(|s| s.name != file);
        if sources.is_empty() {
            return Err(EditError::Invalid(vec![Problem {
                file,
                line: 0,
                column: 0,
                message: "the last dialplan file cannot be deleted".into(),
            }]));
        }
        let loaded = compile(&sources, &state.requirements)?;
        std::fs::remove_file(&path).map_err(|e| EditError::Io(e.to_string()))?;
        self.note_written(&mut state)?;
        tracing::info!(file = name, author, "dialplan file deleted");
        let _ = self.control.send(Control::Dialplan(loaded.plan)).await;
        Ok(())
    }

    /// Reloads when the files changed on disk (or always, when `forced` and
    /// there are files); a bad plan is logged and the running one stays.
    /// `false` once the switch task has stopped.
    pub(crate) async fn reload_if_changed(&self, forced: bool) -> bool {
        let mut state = self.state.lock().await;
        let now = match dialplans::fingerprint(&self.dir) {
            Ok(now) => now,
            Err(e) => {
                tracing::error!("dialplan reload: {e}; keeping the running dialplan");
                return true;
            }
        };
        if now == state.fingerprint && (!forced || now.is_empty()) {
            return true;
        }
        state.fingerprint = now;
        match dialplans::load(&self.dir, &state.requirements.trunks) {
            Ok(loaded) => {
                if let Err(EditError::Invalid(problems)) =
                    check_contexts(&loaded, &state.requirements)
                {
                    for p in &problems {
                        tracing::error!("dialplan: {}", p.message);
                    }
                    tracing::error!("dialplan not reloaded; keeping the running dialplan");
                    return true;
                }
                dialplans::log_warnings(&loaded.plan);
                state.fingerprint = loaded.fingerprint.clone();
                tracing::info!(
                    files = loaded.files.len(),
                    rules = loaded.plan.rule_count(),
                    "dialplan reloaded"
                );
                drop(state);
                self.record_disk_versions().await;
                self.control
                    .send(Control::Dialplan(loaded.plan))
                    .await
                    .is_ok()
            }
            Err(DialplanLoadError::Invalid { diagnostics }) => {
                dialplans::log_diagnostics(&diagnostics);
                tracing::error!("dialplan not reloaded; keeping the running dialplan");
                true
            }
            Err(e) => {
                tracing::error!("dialplan reload: {e}; keeping the running dialplan");
                true
            }
        }
    }

    /// Records the text of every file that differs from its latest version
    /// (edited on disk, or never recorded).
    pub(crate) async fn record_disk_versions(&self) {
        let files = match self.read_files() {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!("dialplan history: {e}");
                return;
            }
        };
        for (name, content) in files {
            let latest = self.store.latest_dialplan_version(&name).await;
            let differs = match &latest {
                Ok(Some(v)) => v.content != content,
                Ok(None) => true,
                Err(e) => {
                    tracing::warn!(file = %name, error = %e, "dialplan history unavailable");
                    continue;
                }
            };
            if differs
                && let Err(e) = self
                    .store
                    .add_dialplan_version(&name, &content, FILE_AUTHOR)
                    .await
            {
                tracing::warn!(file = %name, error = %e, "cannot record a dialplan version");
            }
        }
    }

    async fn describe(&self, name: String, content: String) -> Result<FileInfo, EditError> {
        let latest = self
            .store
            .latest_dialplan_version(&name)
            .await
            .map_err(|e| EditError::Io(e.to_string()))?;
        let (version, updated_unix_ms) = match latest {
            Some(v) if v.content == content => (Some(v.version), Some(v.created_at_unix_ms)),
            _ => (None, None),
        };
        Ok(FileInfo {
            name,
            content,
            version,
            updated_unix_ms,
        })
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.toml"))
    }

    /// (name without `.toml`, text) of every file; the built-in plan when the
    /// directory does not exist.
    fn read_files(&self) -> Result<Vec<(String, String)>, String> {
        if !self.dir.exists() {
            return Ok(vec![(
                "default".to_owned(),
                dialplans::BUILT_IN_TEXT.to_owned(),
            )]);
        }
        let mut out = Vec::new();
        for (path, _, _) in dialplans::fingerprint(&self.dir).map_err(|e| e.to_string())? {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, text));
        }
        Ok(out)
    }

    /// The files as compiler input, named `NAME.toml`.
    fn read_sources(&self) -> Result<Vec<SourceFile>, String> {
        Ok(self
            .read_files()?
            .into_iter()
            .map(|(name, text)| SourceFile {
                name: format!("{name}.toml"),
                text,
            })
            .collect())
    }

    /// The files as compiler input with file `name` holding `content`, in
    /// name order; and whether that is its text already.
    fn sources_with(
        &self,
        name: &str,
        content: &str,
    ) -> Result<(Vec<SourceFile>, bool), EditError> {
        let mut sources = self.read_sources().map_err(EditError::Io)?;
        let file = format!("{name}.toml");
        let unchanged = sources.iter().any(|s| s.name == file && s.text == content);
        sources.retain(|s| s.name != file);
        sources.push(SourceFile {
            name: file,
            text: content.to_owned(),
        });
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((sources, unchanged))
    }

    /// Writes file `name` atomically (the built-in plan becomes
    /// `default.toml` first when the directory does not exist).
    fn write_file(&self, name: &str, content: &str) -> Result<(), EditError> {
        self.materialize_built_in().map_err(EditError::Io)?;
        write_atomically(&self.path_of(name), content).map_err(EditError::Io)
    }

    /// Takes the directory's fingerprint after a write applied here, so the
    /// watcher does not reload it again.
    fn note_written(&self, state: &mut State) -> Result<(), EditError> {
        state.fingerprint =
            dialplans::fingerprint(&self.dir).map_err(|e| EditError::Io(e.to_string()))?;
        Ok(())
    }

    /// Before the first file is written into a directory that does not
    /// exist yet, the built-in plan that was running becomes its
    /// `default.toml`, so adding a file does not take it away.
    fn materialize_built_in(&self) -> Result<(), String> {
        if self.dir.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        write_atomically(&self.dir.join("default.toml"), dialplans::BUILT_IN_TEXT)
    }
}

/// Compiles `sources` and checks the required contexts.
fn compile(sources: &[SourceFile], r: &Requirements) -> Result<LoadedDialplan, EditError> {
    let options = CompileOptions {
        trunks: r
            .trunks
            .iter()
            .map(|t| TrunkName::from(t.as_str()))
            .collect(),
    };
    let plan = sb_dialplan::compile(sources, &options).map_err(|d| {
        EditError::Invalid(
            d.iter()
                .filter(|d| d.severity == Severity::Error)
                .map(Problem::from)
                .collect(),
        )
    })?;
    let loaded = LoadedDialplan {
        plan: Arc::new(plan),
        files: sources.iter().map(|s| PathBuf::from(&s.name)).collect(),
        fingerprint: Vec::new(),
    };
    check_contexts(&loaded, r)?;
    Ok(loaded)
}

fn check_contexts(loaded: &LoadedDialplan, r: &Requirements) -> Result<(), EditError> {
    let problems: Vec<Problem> = r
        .contexts
        .iter()
        .filter(|(_, c)| !loaded.plan.has_context(c))
        .map(|(who, c)| Problem {
            file: String::new(),
            line: 0,
            column: 0,
            message: format!("{who} starts calls in context `{c}`, which no file defines"),
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(EditError::Invalid(problems))
    }
}

fn check_name(name: &str) -> Result<(), EditError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        && name != BUILT_IN
        // `/api/dialplans/test` is the route test.
        && name != "test";
    if ok {
        Ok(())
    } else {
        Err(EditError::BadName(format!(
            "`{name}`: a dialplan name is 1 to 64 letters, digits, `-` or `_`"
        )))
    }
}

/// Writes `path` through a temporary file in the same directory renamed over
/// it (atomic on POSIX file systems), synced before the rename.
fn write_atomically(path: &Path, content: &str) -> Result<(), String> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}
