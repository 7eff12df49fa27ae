//! Lowering a whole program: dispatch each top-level block to its kind, check that names
//! are unique across all files, then resolve every reference.

use super::kinds::*;
use super::reader::{Coverage, Sink};
use super::{resolve, Keyword, Kind, Program};
use crate::diagnostic::{closest, Diagnostic};
use crate::source::FileId;
use crate::syntax::ast;

/// Lowers the parsed files of one program into the IR, with its diagnostics.
pub fn lower_program(files: &[(FileId, ast::File)]) -> (Program, Vec<Diagnostic>) {
    lower_with(files, Sink::default())
}

/// Which attributes and nested blocks the language has (per block kind) and which of them
/// the given files use: the basis of the "examples use every feature" test.
pub fn feature_coverage(files: &[(FileId, ast::File)]) -> Coverage {
    let sink = Sink {
        coverage: Some(Default::default()),
        ..Sink::default()
    };
    let (_, _, sink) = lower_inner(files, sink);
    sink.coverage.map(|c| c.into_inner()).unwrap_or_default()
}

fn lower_with(files: &[(FileId, ast::File)], sink: Sink) -> (Program, Vec<Diagnostic>) {
    let (program, diagnostics, _) = lower_inner(files, sink);
    (program, diagnostics)
}

fn lower_inner(files: &[(FileId, ast::File)], sink: Sink) -> (Program, Vec<Diagnostic>, Sink) {
    let mut program = Program::default();
    let mut system_block: Option<&ast::Block> = None;
    for (_, file) in files {
        for block in &file.blocks {
            match Kind::from_word(&block.kind.text) {
                Some(Kind::System) => {
                    if let Some(first) = system_block {
                        sink.push(
                            Diagnostic::error(
                                "A003",
                                block.head,
                                "a program has at most one `system`",
                            )
                            .with_primary_label("second system")
                            .with_label(first.head, "first system declared here")
                            .with_help("merge the two `system` blocks into one"),
                        );
                        continue;
                    }
                    system_block = Some(block);
                    program.system = Some(lower_system(block, &sink));
                }
                Some(Kind::Region) => program.regions.push(lower_region(block, &sink)),
                Some(Kind::Limit) => program.limits.push(lower_limit(block, &sink)),
                Some(Kind::Gateway) => program.gateways.push(lower_gateway(block, &sink)),
                Some(Kind::Service) => {
                    let index = program.services.len();
                    program.services.push(lower_service(block, &sink, index));
                }
                Some(Kind::Database) => program.databases.push(lower_database(block, &sink)),
                Some(Kind::Cache) => program.caches.push(lower_cache(block, &sink)),
                Some(Kind::Queue) => program.queues.push(lower_queue(block, &sink)),
                Some(Kind::Cdn) => program.cdns.push(lower_cdn(block, &sink)),
                Some(Kind::Job) => program.jobs.push(lower_job(block, &sink)),
                None => {
                    let hint =
                        closest(&block.kind.text, Kind::WORDS.iter().copied()).or_else(|| {
                            closest(&block.kind.text.to_lowercase(), Kind::WORDS.iter().copied())
                        });
                    sink.push(
                        Diagnostic::error(
                            "A002",
                            block.kind.span,
                            format!("`{}` is not a kind of component", block.kind.text),
                        )
                        .with_primary_label("unknown kind")
                        .with_help(match hint {
                            Some(h) => format!("did you mean `{h}`?"),
                            None => format!("the kinds are {}", Kind::WORDS.join(", ")),
                        }),
                    );
                }
            }
        }
    }
    program.reindex();
    duplicate_names(&program, &sink);
    resolve::resolve(&mut program, &sink);
    let mut diagnostics = sink.diagnostics.take();
    diagnostics.sort_by_key(|d| (d.span.file, d.span.start));
    (program, diagnostics, sink)
}

fn duplicate_names(program: &Program, sink: &Sink) {
    let components = program.components();
    let mut first_of: std::collections::HashMap<&str, (Kind, &super::Name)> =
        std::collections::HashMap::new();
    for (kind, name) in components.iter() {
        if name.value.is_empty() {
            continue;
        }
        let seen = first_of.get(name.value.as_str()).copied();
        if seen.is_none() {
            first_of.insert(name.value.as_str(), (*kind, name));
        }
        if let Some((first_kind, first)) = seen {
            sink.push(
                Diagnostic::error("A003", name.span, format!("the name `{}` is already used", name.value))
                    .with_primary_label(format!("this {kind} reuses it"))
                    .with_label(first.span, format!("first used by this {first_kind}"))
                    .with_help("names are unique across all components (`a-b` and `a_b` are the same name); rename one of them"),
            );
        }
    }
    // Members unique within their parent.
    for s in &program.services {
        dup_members(sink, "endpoint", s.endpoints.iter().map(|e| &e.name));
        dup_members(sink, "consumer", s.consumers.iter().map(|e| &e.name));
    }
    for d in &program.databases {
        dup_members(
            sink,
            "table or view",
            d.tables
                .iter()
                .map(|t| &t.name)
                .chain(d.views.iter().map(|v| &v.name)),
        );
        for t in &d.tables {
            dup_members(sink, "column", t.columns.iter().map(|c| &c.name));
        }
    }
    for g in &program.gateways {
        dup_members(sink, "canary", g.canaries.iter().map(|c| &c.name));
    }
}

fn dup_members<'a>(sink: &Sink, what: &str, names: impl Iterator<Item = &'a super::Name>) {
    let names: Vec<&super::Name> = names.collect();
    for (i, n) in names.iter().enumerate() {
        if let Some(first) = names[..i]
            .iter()
            .find(|m| m.value == n.value && !n.value.is_empty())
        {
            sink.push(
                Diagnostic::error(
                    "A003",
                    n.span,
                    format!("{what} `{}` is declared twice", n.value),
                )
                .with_primary_label("declared again here")
                .with_label(first.span, "first declared here")
                .with_help(format!("rename or remove one of the two {what}s")),
            );
        }
    }
}
