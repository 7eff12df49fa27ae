//! The command line: argument parsing, file access, terminal output and exit codes. The
//! only layer that does I/O; everything it calls is pure.

mod files;
mod generate;
mod plan;
mod render;

use crate::check;
use crate::diagnostic::Severity;
use crate::graph;
use crate::load::Loaded;
use crate::plan::catalogue::Catalogue;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// archc — a compiler for system architectures.
#[derive(Parser, Debug)]
#[command(name = "archc", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check .arch files: every problem with its code, location and fix.
    Check {
        /// Files or directories (every *.arch under a directory; each program once).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Treat warnings as errors (`--deny warnings`).
        #[arg(long, value_name = "warnings")]
        deny: Option<Deny>,
        /// Print the resolved IR (every default filled in) as JSON instead of diagnostics.
        #[arg(long, value_enum)]
        emit: Option<Emit>,
        /// Show every default archc filled in: the same as `--emit ir`.
        #[arg(long)]
        explain_defaults: bool,
        /// A pricing catalogue (TOML) merged over the built-in one: its instance classes
        /// are known to the checks (as with `archc plan --pricing`).
        #[arg(long, value_name = "FILE.toml")]
        pricing: Option<PathBuf>,
    },
    /// Explain a rule: what it protects against, a failing example and the fix.
    Explain {
        /// A rule code such as A304; without one, list every rule.
        code: Option<String>,
    },
    /// Draw the architecture as Mermaid or Graphviz DOT.
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Estimate capacity, latency, availability and monthly cost, and how they grow.
    Plan(plan::PlanArgs),
    /// Generate a runnable Cargo workspace (services, gateways, runtime, docs) from a program.
    Generate(generate::GenerateArgs),
    /// Print the JSON Schema of the IR (`check --emit ir`).
    Schema,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Human,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Deny {
    Warnings,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Emit {
    Ir,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum GraphFormat {
    Mermaid,
    Dot,
}

/// Runs the CLI and returns the process exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check {
            paths,
            format,
            deny,
            emit,
            explain_defaults,
            pricing,
        } => match plan::catalogue(pricing.as_deref()) {
            Ok(catalogue) => run_check(
                &paths,
                &catalogue,
                format,
                deny.is_some(),
                emit.is_some() || explain_defaults,
            ),
            Err(message) => usage_error(&message),
        },
        Command::Explain { code } => run_explain(code.as_deref()),
        Command::Graph { file, format } => run_graph(&file, format),
        Command::Plan(args) => plan::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Schema => {
            print_out(&schema_json());
            0
        }
    };
    ExitCode::from(code)
}

/// The JSON Schema of the IR, as committed under `schemas/ir.schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(crate::model::Program);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`archc ... | head`) is not an error worth a panic.
    let _ = out.write_all(text.as_bytes());
}

fn usage_error(message: &str) -> u8 {
    eprintln!("error: {message}");
    2
}

/// Builds the graph and runs the rules over a loaded program. Rules run even when lowering
/// found errors, so one run reports every problem; a file that did not parse at all
/// contributes nothing, and then rules are skipped to avoid follow-on noise.
pub fn analyse(loaded: &mut Loaded, catalogue: &Catalogue) {
    if loaded.incomplete {
        return;
    }
    let graph = graph::build(&loaded.program);
    let mut more = check::check(&loaded.program, &graph, catalogue);
    loaded.diagnostics.append(&mut more);
    loaded
        .diagnostics
        .sort_by_key(|d| (d.span.file, d.span.start, d.code));
}

/// Loads and checks every program the paths name (the work of `archc check`).
pub fn check_paths(paths: &[PathBuf]) -> Result<Vec<Loaded>, String> {
    check_paths_with(paths, &Catalogue::builtin())
}

/// [`check_paths`] against a given price catalogue (`--pricing`).
pub fn check_paths_with(paths: &[PathBuf], catalogue: &Catalogue) -> Result<Vec<Loaded>, String> {
    let programs = files::discover(paths)?;
    Ok(programs
        .into_iter()
        .map(|mut l| {
            analyse(&mut l, catalogue);
            l
        })
        .collect())
}

fn run_check(
    paths: &[PathBuf],
    catalogue: &Catalogue,
    format: Format,
    deny_warnings: bool,
    emit_ir: bool,
) -> u8 {
    let mut loaded = match check_paths_with(paths, catalogue) {
        Ok(p) => p,
        Err(message) => return usage_error(&message),
    };
    if emit_ir {
        let irs: Vec<&crate::model::Program> = loaded.iter().map(|l| &l.program).collect();
        let json = if irs.len() == 1 {
            serde_json::to_string_pretty(irs[0])
        } else {
            serde_json::to_string_pretty(&irs)
        };
        print_out(&(json.unwrap_or_default() + "\n"));
    }
    if deny_warnings {
        for l in &mut loaded {
            for d in &mut l.diagnostics {
                d.severity = Severity::Error;
            }
        }
    }
    let errors: usize = loaded
        .iter()
        .map(|l| l.diagnostics.iter().filter(|d| d.is_error()).count())
        .sum();
    let warnings: usize = loaded
        .iter()
        .map(|l| l.diagnostics.iter().filter(|d| !d.is_error()).count())
        .sum();
    let file_count: usize = loaded.iter().map(|l| l.sources.len()).sum();
    match format {
        Format::Json if !emit_ir => print_out(&render::json(&loaded, errors, warnings, file_count)),
        Format::Human => {
            let mut err = std::io::stderr().lock();
            for l in &loaded {
                for d in &l.diagnostics {
                    let _ = write!(err, "{}", render::human(&l.sources, d, render::use_color()));
                }
            }
            let _ = writeln!(err, "{}", render::summary(errors, warnings, file_count));
        }
        Format::Json => {}
    }
    // The process ends right after this: freeing every AST and IR node of a large program
    // one by one costs more than the rest of the output, and the OS reclaims it at once.
    std::mem::forget(loaded);
    u8::from(errors > 0)
}

fn run_explain(code: Option<&str>) -> u8 {
    match code {
        None => {
            let mut text = String::new();
            for r in check::rules() {
                let sev = if r.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                text.push_str(&format!("{}  {:<7}  {}\n", r.code, sev, r.summary));
            }
            text.push_str("\nRun `archc explain CODE` for the long form.\n");
            print_out(&text);
            0
        }
        Some(code) => match check::rule(code) {
            Some(r) => {
                let sev = if r.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                print_out(&format!(
                    "{} ({sev}): {}\n\n{}",
                    r.code,
                    r.summary,
                    render::explanation_text(r.explanation)
                ));
                0
            }
            None => {
                let codes: Vec<&str> = check::rules().iter().map(|r| r.code).collect();
                let hint = crate::diagnostic::closest(&code.to_uppercase(), codes.iter().copied())
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_default();
                usage_error(&format!(
                    "no rule `{code}`{hint}; `archc explain` lists them all"
                ))
            }
        },
    }
}

fn run_graph(file: &PathBuf, format: GraphFormat) -> u8 {
    let mut programs = match files::discover(std::slice::from_ref(file)) {
        Ok(p) => p,
        Err(message) => return usage_error(&message),
    };
    if programs.len() != 1 {
        return usage_error("`archc graph` draws one program: pass one file");
    }
    let loaded = programs.remove(0);
    if loaded.has_errors() {
        let mut err = std::io::stderr().lock();
        for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
            let _ = write!(
                err,
                "{}",
                render::human(&loaded.sources, d, render::use_color())
            );
        }
        return 1;
    }
    let g = graph::build(&loaded.program);
    print_out(&match format {
        GraphFormat::Mermaid => graph::to_mermaid(&g),
        GraphFormat::Dot => graph::to_dot(&g),
    });
    0
}
