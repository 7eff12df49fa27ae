//! Rendering diagnostics: miette's graphical report for people, the JSON contract of
//! checks.md for tools.

use crate::diagnostic::{Diagnostic, Severity};
use crate::load::Loaded;
use crate::source::{SourceMap, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{json, Value};
use std::fmt;
use std::io::IsTerminal;

/// Colours only on a terminal, and never with `NO_COLOR` set.
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// One diagnostic in the shape miette renders.
#[derive(Debug)]
struct Report {
    code: &'static str,
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.code.is_empty() {
            None
        } else {
            Some(Box::new(self.code))
        }
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn source_span(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

fn named_source(sources: &SourceMap, span: Span) -> NamedSource<String> {
    let file = sources.file(span.file);
    NamedSource::new(file.path.display().to_string(), file.text.clone())
}

fn report(sources: &SourceMap, d: &Diagnostic) -> Report {
    let primary = LabeledSpan::new_primary_with_span(
        Some(d.primary_label.clone().unwrap_or_else(|| "here".into())),
        source_span(d.span),
    );
    let mut labels = vec![primary];
    let mut related = Vec::new();
    for l in &d.labels {
        if l.span.file == d.span.file {
            labels.push(LabeledSpan::new_with_span(
                Some(l.message.clone()),
                source_span(l.span),
            ));
        } else {
            // A label in another file is shown as a note with that file's snippet.
            related.push(Report {
                code: "",
                message: "see also".to_string(),
                severity: miette::Severity::Advice,
                help: None,
                source: named_source(sources, l.span),
                labels: vec![LabeledSpan::new_primary_with_span(
                    Some(l.message.clone()),
                    source_span(l.span),
                )],
                related: Vec::new(),
            });
        }
    }
    Report {
        code: d.code,
        message: d.message.clone(),
        severity: match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        },
        help: d.help.clone(),
        source: named_source(sources, d.span),
        labels,
        related,
    }
}

/// The graphical report of one diagnostic.
pub fn human(sources: &SourceMap, d: &Diagnostic, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
        .with_show_related_as_nested(true);
    let mut out = String::new();
    if handler
        .render_report(&mut out, &report(sources, d))
        .is_err()
    {
        out = format!(
            "{}: {} ({})\n",
            d.code,
            d.message,
            d.help.clone().unwrap_or_default()
        );
    }
    out.push('\n');
    out
}

/// `2 errors, 3 warnings in 4 files`.
pub fn summary(errors: usize, warnings: usize, files: usize) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "{}, {} in {}",
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(files, "file")
    )
}

fn location(sources: &SourceMap, span: Span) -> (String, usize, usize, usize, usize) {
    let file = sources.file(span.file);
    let (line, column) = file.line_col(span.start as usize);
    let (end_line, end_column) = file.line_col(span.end as usize);
    (
        file.path.display().to_string(),
        line,
        column,
        end_line,
        end_column,
    )
}

/// One diagnostic as a JSON object of the output contract.
pub fn json_diagnostic(sources: &SourceMap, d: &Diagnostic) -> Value {
    let (file, line, column, end_line, end_column) = location(sources, d.span);
    let labels: Vec<Value> = d
        .labels
        .iter()
        .map(|l| {
            let (file, line, column, end_line, end_column) = location(sources, l.span);
            json!({"file": file, "line": line, "column": column, "end_line": end_line, "end_column": end_column, "message": l.message})
        })
        .collect();
    json!({
        "code": d.code,
        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "message": d.message,
        "file": file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "labels": labels,
        "help": d.help,
    })
}

/// The whole `--format json` document.
pub fn json(programs: &[Loaded], errors: usize, warnings: usize, files: usize) -> String {
    let diagnostics: Vec<Value> = programs
        .iter()
        .flat_map(|l| l.diagnostics.iter().map(|d| json_diagnostic(&l.sources, d)))
        .collect();
    let doc =
        json!({"diagnostics": diagnostics, "errors": errors, "warnings": warnings, "files": files});
    format!("{doc}\n")
}

/// The explanation as printed: the doc comment with its leading space per line removed.
pub fn explanation_text(raw: &str) -> String {
    let mut text: String = raw
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}
