//! `archc generate FILE -o DIR`: checks the program, generates its files
//! (`crate::generate`), plans the run against what DIR holds (`generate::update`) and
//! carries it out with atomic writes confined to DIR.
//!
//! Exit codes: 0 done (or `--check`: up to date); 1 the program has errors, or `--check`
//! found DIR out of date; 2 a usage problem (DIR not an archc output, unreadable
//! templates, an unwritable file).

use super::{analyse, files, plan::catalogue, print_out, usage_error};
use crate::generate::manifest::{Manifest, MANIFEST_PATH};
use crate::generate::update::{self, Action, UpdatePlan};
use crate::generate::{self, part_of, Part};
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// The arguments of `archc generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The program's root file.
    file: PathBuf,
    /// The output directory: absent, empty, or an earlier archc output.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
    /// Print what would be created, updated or kept, and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Exit 1 when DIR is out of date with the .arch file (for CI); write nothing.
    #[arg(long)]
    check: bool,
    /// Overwrite generated files you changed (your handlers.rs files are still never touched).
    #[arg(long)]
    force: bool,
    /// A directory of templates overriding archc's own (same relative paths).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Regenerate only one part.
    #[arg(long, value_enum)]
    only: Option<OnlyPart>,
    /// A pricing catalogue (TOML) merged over the built-in one (for the plan summary).
    #[arg(long, value_name = "FILE.toml")]
    pricing: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OnlyPart {
    Services,
    Infra,
    Docs,
}

impl OnlyPart {
    fn part(self) -> Part {
        match self {
            OnlyPart::Services => Part::Services,
            OnlyPart::Infra => Part::Infra,
            OnlyPart::Docs => Part::Docs,
        }
    }
}

/// Runs `archc generate` and returns the exit code.
pub fn run(args: GenerateArgs) -> u8 {
    match run_inner(&args) {
        Ok(code) => code,
        Err(message) => usage_error(&message),
    }
}

fn run_inner(args: &GenerateArgs) -> Result<u8, String> {
    let catalogue = catalogue(args.pricing.as_deref())?;
    let mut programs = files::discover(std::slice::from_ref(&args.file))?;
    if programs.len() != 1 {
        return Err("`archc generate` builds one program: pass its root file".into());
    }
    let mut loaded = programs.remove(0);
    analyse(&mut loaded, &catalogue);
    if loaded.has_errors() {
        super::plan::refuse(
            &loaded,
            &loaded.diagnostics,
            "the program has errors: nothing was generated",
        );
        return Ok(1);
    }
    let overrides = match &args.templates {
        Some(dir) => read_templates(dir)?,
        None => BTreeMap::new(),
    };
    let source = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "main.arch".into());
    let options = generate::Options {
        source: source.clone(),
        template_overrides: &overrides,
        catalogue: &catalogue,
    };
    let mut files = generate::generate(&loaded.program, &options)?;
    let only = args.only.map(OnlyPart::part);
    if let Some(part) = only {
        files.retain(|f| part_of(&f.path) == part);
    }
    let dir = &args.output;
    let previous = previous_manifest(dir)?;
    let on_disk = |path: &str| fs::read(dir.join(path)).ok();
    let keep_outside = |path: &str| only.is_some_and(|p| part_of(path) != p);
    let plan = update::plan(
        &files,
        previous.as_ref(),
        &on_disk,
        args.force,
        &keep_outside,
        (generate::VERSION, &source),
    );
    if args.check {
        return Ok(report_check(&plan, dir));
    }
    if args.dry_run {
        let mut text = String::new();
        for step in &plan.steps {
            text.push_str(&format!("{:<10} {}\n", step.action.word(), step.path));
        }
        print_out(&text);
        return Ok(0);
    }
    let contents: BTreeMap<&str, &[u8]> = files
        .iter()
        .map(|f| (f.path.as_str(), f.contents.as_slice()))
        .collect();
    apply(dir, &plan, &contents)?;
    summarise(&plan, dir);
    let mut err = std::io::stderr().lock();
    for caveat in generate::caveats::caveats(&loaded.program) {
        let _ = writeln!(err, "warning: {caveat}");
    }
    Ok(0)
}

/// Every file under `dir`, by relative path.
fn read_templates(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| format!("--templates {}: {e}", dir.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        let text = fs::read_to_string(entry.path())
            .map_err(|e| format!("cannot read template {}: {e}", entry.path().display()))?;
        out.insert(rel, text);
    }
    Ok(out)
}

/// The manifest of an earlier run; refuses a non-empty directory that is not an archc output.
fn previous_manifest(dir: &Path) -> Result<Option<Manifest>, String> {
    if !dir.exists() {
        return Ok(None);
    }
    if !dir.is_dir() {
        return Err(format!("{} exists and is not a directory", dir.display()));
    }
    let manifest_path = dir.join(MANIFEST_PATH);
    match fs::read_to_string(&manifest_path) {
        Ok(text) => Manifest::parse(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", dir.display())),
        Err(_) => {
            let empty = fs::read_dir(dir)
                .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
                .next()
                .is_none();
            if empty {
                Ok(None)
            } else {
                Err(format!(
                    "{} is not empty and is not an archc output (it has no {MANIFEST_PATH}); \
                     choose an empty or new directory",
                    dir.display()
                ))
            }
        }
    }
}

fn report_check(plan: &UpdatePlan, dir: &Path) -> u8 {
    let stale: Vec<_> = plan.steps.iter().filter(|s| s.action.is_change()).collect();
    if stale.is_empty() {
        print_out(&format!("{} is up to date\n", dir.display()));
        return 0;
    }
    let mut text = format!(
        "{} is out of date: `archc generate` would change {} file(s):\n",
        dir.display(),
        stale.len()
    );
    for step in stale {
        text.push_str(&format!("  {:<10} {}\n", step.action.word(), step.path));
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    1
}

/// A relative path with only normal components: it cannot leave the output directory.
fn confined(dir: &Path, rel: &str) -> Result<PathBuf, String> {
    let path = Path::new(rel);
    if rel.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!(
            "refusing to write `{rel}`: it would leave the output directory"
        ));
    }
    // A symlinked directory inside DIR must not lead outside it either.
    let mut current = dir.to_path_buf();
    for component in path.parent().into_iter().flat_map(Path::components) {
        current.push(component);
        if fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!(
                "refusing to write `{rel}`: {} is a symbolic link",
                current.display()
            ));
        }
    }
    Ok(dir.join(path))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename.
/// Writes through a temporary file renamed into place, so a reader never sees half a file.
/// A file that replaces an existing one is synced before the rename (a crash must not leave
/// an empty file where the user's was); a new file is not, because one `fsync` per file made
/// first generation of a large program spend most of its time waiting on the disk.
fn write_atomic(path: &Path, bytes: &[u8], replaces: bool) -> Result<(), String> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.archc-tmp"));
    let result = fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            if replaces {
                f.sync_all()?;
            }
            Ok(())
        })
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}

fn apply(dir: &Path, plan: &UpdatePlan, contents: &BTreeMap<&str, &[u8]>) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for step in &plan.steps {
        let target = confined(dir, &step.path)?;
        let bytes = contents
            .get(step.path.as_str())
            .copied()
            .unwrap_or_default();
        match step.action {
            Action::Create => write_atomic(&target, bytes, false)?,
            Action::Update | Action::Overwrite => write_atomic(&target, bytes, true)?,
            Action::Conflict => {
                let aside = confined(dir, &format!("{}.new", step.path))?;
                write_atomic(&aside, bytes, false)?;
            }
            Action::Remove => {
                fs::remove_file(&target)
                    .map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
            }
            Action::Unchanged | Action::KeepUser | Action::KeepStale => {}
        }
    }
    let manifest = confined(dir, MANIFEST_PATH)?;
    write_atomic(&manifest, plan.manifest.to_text().as_bytes(), true)
}

fn summarise(plan: &UpdatePlan, dir: &Path) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut err = std::io::stderr().lock();
    for step in &plan.steps {
        *counts.entry(step.action.word()).or_default() += 1;
        match step.action {
            Action::Conflict => {
                let _ = writeln!(
                    err,
                    "warning: kept {} (you changed it); archc's new version is {}.new",
                    step.path, step.path
                );
            }
            Action::KeepStale => {
                let _ = writeln!(
                    err,
                    "warning: kept {} (no longer generated, but you changed it)",
                    step.path
                );
            }
            _ => {}
        }
    }
    let summary: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
    print_out(&format!("{}: {}\n", dir.display(), summary.join(", ")));
}
