//! The compiler: TOML sources → [`Dialplan`], or every problem found as [`Diagnostic`]s.

mod action;
mod graph;
mod rule;

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::FixedState;
use toml::de::DeTable;

use crate::names::is_plain_name;
use crate::plan::{Action, Context, Rule};
use crate::syntax::{Sink, get};
use crate::{ContextName, Diagnostic, Dialplan, DialplanError, Severity, TrunkName};
use rule::{GotoSite, compile_rule};

/// One dialplan file, already read by the caller (this crate never touches the file system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The name used in diagnostics and traces, e.g. `dialplans/default.toml`.
    pub name: String,
    /// The file's contents.
    pub text: String,
}

/// What the compiler needs to know about the rest of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// The trunks the configuration defines. A `trunk` action naming any other trunk is an
    /// error, unless its rule has `if_trunk_configured` for it: then the rule is left out (with
    /// a warning) until the trunk is configured.
    pub trunks: Vec<TrunkName>,
}

/// A context as declared, before its includes are resolved.
#[derive(Debug)]
struct Declared {
    file: usize,
    /// Where the name is written.
    offset: usize,
    includes: Vec<(String, usize)>,
    /// Indices into the rule list.
    own: Vec<u32>,
}

/// A `goto` of a compiled rule, with where it came from.
#[derive(Debug)]
struct PendingGoto {
    rule: u32,
    file: usize,
    site: GotoSite,
}

/// Compiles dialplan files into one [`Dialplan`].
///
/// Contexts from all files share one namespace, so a `goto` or `include` may name a context of
/// another file. Returns every error found (warnings too), sorted by file order, line and column;
/// on success the warnings are in [`Dialplan::warnings`].
pub fn compile(
    sources: &[SourceFile],
    options: &CompileOptions,
) -> Result<Dialplan, Vec<Diagnostic>> {
    let mut builder = Builder {
        sources,
        options,
        diagnostics: Vec::new(),
        names: Vec::new(),
        declared: Vec::new(),
        index: HashMap::default(),
        rules: Vec::new(),
        gotos: Vec::new(),
        goto_names: Vec::new(),
    };
    for file in 0..sources.len() {
        builder.read_file(file);
    }
    let includes = builder.resolve_includes();
    builder.resolve_gotos();
    builder.check_include_cycles(&includes);
    let own: Vec<&[u32]> = builder.declared.iter().map(|d| d.own.as_slice()).collect();
    let flat = graph::flatten(&own, &includes);
    builder.warn_goto_cycles(&flat);
    builder.finish(flat)
}

/// The state of one compilation.
#[derive(Debug)]
struct Builder<'s> {
    sources: &'s [SourceFile],
    options: &'s CompileOptions,
    diagnostics: Vec<Diagnostic>,
    /// Context names, by context index.
    names: Vec<ContextName>,
    /// Context declarations, by context index.
    declared: Vec<Declared>,
    index: HashMap<ContextName, usize, FixedState>,
    rules: Vec<Rule>,
    /// The `goto` of each compiled rule that has one.
    gotos: Vec<PendingGoto>,
    /// Every goto target written, with file and offset, for the unknown-context check (also
    /// from rules with errors).
    goto_names: Vec<(String, usize, usize)>,
}

impl Builder<'_> {
    /// Reports a diagnostic at a byte offset of a file.
    fn report(&mut self, file: usize, offset: usize, severity: Severity, error: DialplanError) {
        let source = &self.sources[file];
        let mut sink = Sink::new(&source.name, &source.text, &mut self.diagnostics);
        match severity {
            Severity::Error => sink.error(offset, error),
            Severity::Warning => sink.warning(offset, error),
        }
    }

    /// `file:line:column` of a byte offset of a file.
    fn place(&self, file: usize, offset: usize) -> String {
        let source = &self.sources[file];
        Sink::new(&source.name, &source.text, &mut Vec::new()).place(offset)
    }

    fn read_file(&mut self, file: usize) {
        let source = &self.sources[file];
        let mut diagnostics = std::mem::take(&mut self.diagnostics);
        let mut sink = Sink::new(&source.name, &source.text, &mut diagnostics);
        let (root, syntax_errors) = DeTable::parse_recoverable(&source.text);
        if syntax_errors.is_empty() {
            let root = root.get_ref();
            sink.check_keys(
                root,
                &["context"],
                "the file",
                "context ([[context]] tables)",
            );
            let contexts = get(root, "context").and_then(|v| sink.array("context", v));
            for item in contexts.unwrap_or_default() {
                if let Some(table) = sink.table("context", item) {
                    self.read_context(&mut sink, file, table, item.span().start);
                }
            }
        } else {
            let mut last_line = 0;
            for e in syntax_errors {
                let offset = e.span().map_or(0, |s| s.start);
                let (line, _) = sink.line_col(offset);
                // One error per line: recovery often reports follow-on errors on the same line.
                if line != last_line {
                    sink.error(
                        offset,
                        DialplanError::Syntax {
                            message: e.message().trim_end().to_owned(),
                        },
                    );
                    last_line = line;
                }
            }
        }
        self.diagnostics = diagnostics;
    }

    fn read_context(
        &mut self,
        sink: &mut Sink<'_>,
        file: usize,
        table: &DeTable<'_>,
        header: usize,
    ) {
        sink.check_keys(
            table,
            &["name", "include", "rule"],
            "context",
            "name, include, rule",
        );
        let Some(name_value) = get(table, "name") else {
            sink.error(
                header,
                DialplanError::MissingKey {
                    key: "name",
                    place: "context",
                },
            );
            return;
        };
        let Some(name) = sink.string("name", name_value) else {
            return;
        };
        let name_offset = name_value.span().start;
        if !is_plain_name(name) {
            sink.error(
                name_offset,
                DialplanError::BadValue {
                    key: "name".to_owned(),
                    reason: format!(
                        "`{name}` is not a context name (letters, digits, `_`, `-`, `.`)"
                    ),
                },
            );
            return;
        }
        let context = ContextName::from(name);
        let includes = get(table, "include")
            .and_then(|v| sink.strings("include", v))
            .unwrap_or_default()
            .into_iter()
            .map(|(n, span)| (n.to_owned(), span.start))
            .collect();
        let file_name: Arc<str> = self.sources[file].name.as_str().into();
        let mut own = Vec::new();
        let rules = get(table, "rule").and_then(|v| sink.array("rule", v));
        for item in rules.unwrap_or_default() {
            let Some(rule) = sink.table("rule", item) else {
                continue;
            };
            let out = compile_rule(
                sink,
                &file_name,
                &context,
                rule,
                item.span().start,
                self.options,
            );
            self.goto_names
                .extend(out.goto_names.into_iter().map(|(n, off)| (n, file, off)));
            if let Some(compiled) = out.compiled {
                let id = u32::try_from(self.rules.len()).expect("fewer than 2^32 rules");
                if let Some(site) = compiled.goto {
                    self.gotos.push(PendingGoto {
                        rule: id,
                        file,
                        site,
                    });
                }
                self.rules.push(compiled.rule);
                own.push(id);
            }
        }
        if let Some(&first) = self.index.get(&context) {
            let d = &self.declared[first];
            let first = if d.file == file {
                sink.place(d.offset)
            } else {
                self.place(d.file, d.offset)
            };
            sink.error(
                name_offset,
                DialplanError::DuplicateContext {
                    name: name.to_owned(),
                    first,
                },
            );
            return;
        }
        self.index.insert(context.clone(), self.names.len());
        self.names.push(context);
        self.declared.push(Declared {
            file,
            offset: name_offset,
            includes,
            own,
        });
    }

    /// The included context indices of every context; unknown names are reported.
    fn resolve_includes(&mut self) -> Vec<Vec<usize>> {
        let mut all = Vec::with_capacity(self.declared.len());
        let mut unknown = Vec::new();
        for d in &self.declared {
            let mut resolved = Vec::with_capacity(d.includes.len());
            for (name, offset) in &d.includes {
                match self.index.get(name.as_str()) {
                    Some(&i) => resolved.push(i),
                    None => unknown.push((d.file, *offset, name.clone())),
                }
            }
            all.push(resolved);
        }
        for (file, offset, name) in unknown {
            self.report(
                file,
                offset,
                Severity::Error,
                DialplanError::UnknownContext { name },
            );
        }
        all
    }

    /// Points every `goto` at its context; unknown names are reported.
    fn resolve_gotos(&mut self) {
        for (name, file, offset) in std::mem::take(&mut self.goto_names) {
            if !self.index.contains_key(name.as_str()) {
                self.report(
                    file,
                    offset,
                    Severity::Error,
                    DialplanError::UnknownContext { name },
                );
            }
        }
        for g in &self.gotos {
            if let Some(&target) = self.index.get(g.site.name.as_str()) {
                self.rules[g.rule as usize].actions[g.site.action] = Action::Goto(target);
            }
        }
    }

    fn path(&self, contexts: &[usize]) -> String {
        contexts
            .iter()
            .map(|&i| self.names[i].as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    }

    fn check_include_cycles(&mut self, includes: &[Vec<usize>]) {
        for cycle in graph::include_cycles(includes) {
            let (from, to) = (cycle[cycle.len() - 2], cycle[cycle.len() - 1]);
            let d = &self.declared[from];
            // Report at the include entry that closes the cycle.
            let offset = d
                .includes
                .iter()
                .find(|(n, _)| self.index.get(n.as_str()) == Some(&to))
                .map_or(d.offset, |(_, off)| *off);
            let file = d.file;
            let path = self.path(&cycle);
            self.report(
                file,
                offset,
                Severity::Error,
                DialplanError::IncludeCycle { path },
            );
        }
    }

    fn warn_goto_cycles(&mut self, flat: &[Vec<u32>]) {
        let edges: Vec<graph::GotoEdge> = self
            .gotos
            .iter()
            .filter(|g| self.rules[g.rule as usize].enabled)
            .filter_map(|g| {
                Some(graph::GotoEdge {
                    rule: g.rule,
                    target: *self.index.get(g.site.name.as_str())?,
                    rewrites: g.site.rewrites,
                    file: g.file,
                    offset: g.site.offset,
                })
            })
            .collect();
        let declaring: Vec<usize> = self
            .rules
            .iter()
            .map(|r| self.index[r.info.context.as_str()])
            .collect();
        for (edge, path) in graph::goto_cycles(flat, &edges, &declaring) {
            let path = self.path(&path);
            self.report(
                edge.file,
                edge.offset,
                Severity::Warning,
                DialplanError::PossibleGotoLoop {
                    path,
                    limit: crate::MAX_JUMPS,
                },
            );
        }
    }

    fn finish(mut self, flat: Vec<Vec<u32>>) -> Result<Dialplan, Vec<Diagnostic>> {
        let order: HashMap<&str, usize> = self
            .sources
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        self.diagnostics
            .sort_by_key(|d| (order.get(d.file.as_str()).copied(), d.line, d.column));
        if self
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
        {
            return Err(self.diagnostics);
        }
        let contexts = self
            .names
            .into_iter()
            .zip(flat)
            .map(|(name, rules)| Context {
                name,
                rules: rules.into_boxed_slice(),
            })
            .collect();
        Ok(Dialplan {
            contexts,
            index: self.index,
            rules: self.rules,
            warnings: self.diagnostics,
        })
    }
}
