//! Finding programs on disk: files and directories given on the command line (every
//! `*.arch` under a directory, each program once — a file imported by another is part of
//! that program, not a program of its own).

use crate::load::{load, normalize_path, Loaded, SourceReader};
use std::path::{Path, PathBuf};

/// The real file system.
pub struct FsReader;

impl SourceReader for FsReader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        let bytes = std::fs::read(path)?;
        String::from_utf8(bytes)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
    }

    fn arch_files_in(&self, path: &Path) -> Option<Vec<PathBuf>> {
        if !path.is_dir() {
            return None;
        }
        Some(arch_files_under(path))
    }
}

fn arch_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "arch"))
        .map(|e| normalize_path(e.path()))
        .collect();
    files.sort();
    files
}

/// Loads every program named by the arguments. An unreadable argument is a usage error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Loaded>, String> {
    let mut roots = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = arch_files_under(p);
            if found.is_empty() {
                return Err(format!("no *.arch files under {}", p.display()));
            }
            roots.extend(found);
        } else if p.exists() {
            roots.push(normalize_path(p));
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    roots.dedup();
    let mut programs: Vec<Loaded> = Vec::new();
    for root in &roots {
        if programs.iter().any(|l| l.sources.find(root).is_some()) {
            continue;
        }
        let text = FsReader
            .read(root)
            .map_err(|e| format!("{}: {e}", root.display()))?;
        programs.push(load(root, text, &FsReader));
    }
    // A root checked before the file that imports it is part of that file's program.
    let roots_of: Vec<PathBuf> = programs
        .iter()
        .map(|l| l.sources.file(crate::source::FileId(0)).path.clone())
        .collect();
    let keep: Vec<bool> = roots_of
        .iter()
        .enumerate()
        .map(|(i, root)| {
            !programs.iter().enumerate().any(|(j, other)| {
                let includes_me = other.sources.find(root).is_some_and(|id| id.0 != 0);
                // Files that import each other (a cycle) each stay a program, so the cycle is reported.
                let mutual = programs[i].sources.find(&roots_of[j]).is_some();
                j != i && includes_me && !mutual
            })
        })
        .collect();
    let mut kept = Vec::new();
    for (l, k) in programs.into_iter().zip(keep) {
        if k {
            kept.push(l);
        }
    }
    Ok(kept)
}
