//! `archc plan FILE`: loads and checks the program as `archc check` does, estimates it
//! (`plan::estimate`) and renders the plan as a terminal table, Markdown, JSON or HTML.
//!
//! Exit codes: 0 the plan was written; 1 the program has errors (the check diagnostics, or
//! the inputs the estimate lacks, rendered as `check` renders them); 2 a usage problem (a
//! missing file, a bad pricing catalogue, a bad `--horizon`, an unwritable output).

use super::{analyse, files, print_out, render, usage_error};
use crate::diagnostic::Diagnostic;
use crate::load::Loaded;
use crate::plan::catalogue::Catalogue;
use crate::plan::estimate::{self, PlanOptions};
use crate::plan::render as report;
use crate::syntax::literal::{parse_quantity, Dimension};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The arguments of `archc plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The program's root file.
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    format: PlanFormat,
    /// A pricing catalogue (TOML) merged key by key over the built-in one.
    #[arg(long, value_name = "FILE.toml")]
    pricing: Option<PathBuf>,
    /// How far to project growth, as a duration: 12mo, 18mo, 2y (default: the program's
    /// `traffic.horizon`, else 12mo).
    #[arg(long, value_name = "DURATION", value_parser = parse_horizon)]
    horizon: Option<u32>,
    /// Write the report to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Show how every figure was obtained: its formula and inputs (the Markdown and HTML
    /// reports always do).
    #[arg(long)]
    explain: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum PlanFormat {
    Table,
    Markdown,
    Json,
    Html,
}

/// `12mo`, `18mo`, `2y`, `90d` → whole months (30 days each), at least one.
fn parse_horizon(text: &str) -> Result<u32, String> {
    let q = parse_quantity(text.trim()).map_err(|e| format!("{} ({})", e.message, e.help))?;
    if q.dimension != Dimension::Duration || q.per_seconds.is_some() {
        return Err(format!(
            "`{text}` is not a duration; write one such as 12mo, 18mo or 2y"
        ));
    }
    let months = (q.value / (30.0 * 86_400e3)).round();
    if !(1.0..=1200.0).contains(&months) {
        return Err(format!(
            "`{text}` is {months} months; the horizon must be 1mo to 100y"
        ));
    }
    Ok(months as u32)
}

/// Runs `archc plan` and returns the exit code.
pub fn run(args: PlanArgs) -> u8 {
    let catalogue = match catalogue(args.pricing.as_deref()) {
        Ok(c) => c,
        Err(message) => return usage_error(&message),
    };
    let mut programs = match files::discover(std::slice::from_ref(&args.file)) {
        Ok(p) => p,
        Err(message) => return usage_error(&message),
    };
    if programs.len() != 1 {
        return usage_error("`archc plan` estimates one program: pass its root file");
    }
    let mut loaded = programs.remove(0);
    // The same checks as `archc check`, with the catalogue the plan will use.
    analyse(&mut loaded, &catalogue);
    if loaded.has_errors() {
        return refuse(
            &loaded,
            &loaded.diagnostics,
            "the program has errors: fix them first",
        );
    }
    // Traces are shown by `--explain` and always by the Markdown and HTML reports.
    let shows_traces =
        args.explain || matches!(args.format, PlanFormat::Markdown | PlanFormat::Html);
    let options = PlanOptions {
        horizon_months: args.horizon,
        without_traces: !shows_traces,
    };
    let plan = match estimate::plan(&loaded.program, &catalogue, &options) {
        Ok(p) => p,
        Err(diagnostics) => return refuse(&loaded, &diagnostics, "the plan lacks inputs"),
    };
    let program = &loaded.program;
    let text = match args.format {
        PlanFormat::Table => report::table(&plan, program, args.explain),
        PlanFormat::Markdown => report::markdown(&plan, program),
        PlanFormat::Json => report::json(&plan, args.explain),
        PlanFormat::Html => report::html(&plan, program),
    };
    let warnings = loaded.diagnostics.iter().filter(|d| !d.is_error()).count();
    if warnings > 0 {
        let file = args.file.display();
        let plural = if warnings == 1 { "" } else { "s" };
        eprintln!("note: {warnings} warning{plural}; `archc check {file}` shows them");
    }
    match &args.output {
        None => {
            print_out(&text);
            0
        }
        Some(path) => match std::fs::write(path, &text) {
            Ok(()) => 0,
            Err(e) => usage_error(&format!("cannot write {}: {e}", path.display())),
        },
    }
}

/// The built-in catalogue, with the user's pricing file merged in when one is given.
pub(super) fn catalogue(pricing_file: Option<&Path>) -> Result<Catalogue, String> {
    match pricing_file {
        None => Ok(Catalogue::builtin()),
        Some(path) => pricing(path),
    }
}

/// The built-in catalogue with the user's pricing file merged in.
fn pricing(path: &Path) -> Result<Catalogue, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read pricing file {}: {e}", path.display()))?;
    Catalogue::builtin()
        .merged(&text)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Prints diagnostics as `archc check` does, then why the plan stopped; exit code 1.
pub(super) fn refuse(loaded: &Loaded, diagnostics: &[Diagnostic], why: &str) -> u8 {
    let mut err = std::io::stderr().lock();
    for d in diagnostics {
        let _ = write!(
            err,
            "{}",
            render::human(&loaded.sources, d, render::use_color())
        );
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let summary = render::summary(errors, warnings, loaded.sources.len());
    let _ = writeln!(err, "{summary}\nerror: no plan: {why}");
    1
}

#[cfg(test)]
mod tests {
    use super::parse_horizon;

    #[test]
    fn horizons_are_whole_months() {
        assert_eq!(parse_horizon("12mo"), Ok(12));
        assert_eq!(parse_horizon("18mo"), Ok(18));
        assert_eq!(parse_horizon("2y"), Ok(24));
        assert_eq!(parse_horizon("90d"), Ok(3));
        assert!(parse_horizon("12").unwrap_err().contains("not a duration"));
        assert!(parse_horizon("5GB").is_err());
        assert!(parse_horizon("1d").unwrap_err().contains("1mo to 100y"));
        assert!(parse_horizon("soon").is_err());
    }
}
