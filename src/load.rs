//! Assembling a program: the root file, its imports (files or directories, relative to the
//! importing file), import cycles and missing imports (A008), then lowering.
//!
//! File access goes through [`SourceReader`], so this stays pure and testable; the CLI
//! passes the real file system.

use crate::diagnostic::Diagnostic;
use crate::model::{lower_program, Program};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};
use std::path::{Path, PathBuf};

/// Access to source files.
pub trait SourceReader {
    /// The text of a file.
    fn read(&self, path: &Path) -> std::io::Result<String>;
    /// Every `*.arch` file under a directory, sorted; None when `path` is not a directory.
    fn arch_files_in(&self, path: &Path) -> Option<Vec<PathBuf>>;
}

/// How many files deep imports may chain (each level is one recursive call).
pub const MAX_IMPORT_DEPTH: usize = 64;

/// A loaded and lowered program.
#[derive(Debug)]
pub struct Loaded {
    /// True when a file did not parse (its components are missing from the program).
    pub incomplete: bool,
    pub sources: SourceMap,
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
}

/// Loads `root` and everything it imports, and lowers the program.
pub fn load(root: &Path, text: String, reader: &dyn SourceReader) -> Loaded {
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();
    let mut files: Vec<(FileId, ast::File)> = Vec::new();
    let root_id = sources.add(root.to_path_buf(), text);
    visit(
        root_id,
        &mut sources,
        &mut files,
        &mut diagnostics,
        reader,
        &mut vec![root.to_path_buf()],
    );
    let has_syntax_errors = files.iter().any(|(_, f)| !f.complete);
    let (program, mut more) = lower_program(&files);
    // A file that did not parse contributes nothing; references into it would only repeat
    // the syntax error as "not declared", so those follow-on errors are dropped.
    if has_syntax_errors {
        more.retain(|d| d.code != "A004" && d.code != "A009");
    }
    diagnostics.extend(more);
    Loaded {
        incomplete: has_syntax_errors,
        sources,
        program,
        diagnostics,
    }
}

fn visit(
    id: FileId,
    sources: &mut SourceMap,
    files: &mut Vec<(FileId, ast::File)>,
    diagnostics: &mut Vec<Diagnostic>,
    reader: &dyn SourceReader,
    stack: &mut Vec<PathBuf>,
) {
    let (file, mut diags) = syntax::parse(id, &sources.file(id).text);
    diagnostics.append(&mut diags);
    let dir = sources
        .file(id)
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let imports = file.imports.clone();
    files.push((id, file));
    for import in imports {
        let target = dir.join(&import.path);
        let targets = match reader.arch_files_in(&target) {
            Some(list) => list,
            None => vec![target.clone()],
        };
        for path in targets {
            let path = normalize_path(&path);
            if stack.len() >= MAX_IMPORT_DEPTH {
                diagnostics.push(
                    Diagnostic::error(
                        "A008",
                        import.span,
                        format!("imports are nested more than {MAX_IMPORT_DEPTH} files deep"),
                    )
                    .with_primary_label("too deep")
                    .with_help(
                        "import the shared files from one place instead of through a long chain",
                    ),
                );
                break;
            }
            if stack.contains(&path) {
                diagnostics.push(cycle(import.span, &import.path, stack, &path));
                continue;
            }
            if sources.find(&path).is_some() {
                continue; // Already part of the program (diamond imports are fine).
            }
            match reader.read(&path) {
                Ok(text) => {
                    let child = sources.add(path.clone(), text);
                    stack.push(path);
                    visit(child, sources, files, diagnostics, reader, stack);
                    stack.pop();
                }
                Err(e) => diagnostics.push(
                    Diagnostic::error("A008", import.span, format!("cannot import `{}`: {}", import.path, io_reason(&e)))
                        .with_primary_label(format!("looked for {}", path.display()))
                        .with_help("import paths are relative to the importing file; a directory imports every *.arch under it"),
                ),
            }
        }
    }
}

fn cycle(span: Span, written: &str, stack: &[PathBuf], back_to: &Path) -> Diagnostic {
    let start = stack.iter().position(|p| p == back_to).unwrap_or(0);
    let chain: Vec<String> = stack[start..]
        .iter()
        .chain(std::iter::once(&back_to.to_path_buf()))
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    Diagnostic::error("A008", span, format!("import cycle: {}", chain.join(" → ")))
        .with_primary_label(format!("`{written}` is already being imported"))
        .with_help("move what both files need into a third file that both import")
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Removes `.` and resolves `..` lexically, so one file has one path.
pub fn normalize_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Loads a single program from text (no imports resolve): for tests and tools.
pub fn load_text(text: &str) -> Loaded {
    load(
        Path::new("program.arch"),
        text.to_string(),
        &MemoryReader::default(),
    )
}

/// An in-memory file set, for tests and tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryReader {
    pub files: Vec<(PathBuf, String)>,
}

impl SourceReader for MemoryReader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn arch_files_in(&self, path: &Path) -> Option<Vec<PathBuf>> {
        let mut list: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(p, _)| {
                p.starts_with(path) && p != path && p.extension().is_some_and(|e| e == "arch")
            })
            .map(|(p, _)| p.clone())
            .collect();
        if list.is_empty() {
            return None;
        }
        list.sort();
        Some(list)
    }
}
