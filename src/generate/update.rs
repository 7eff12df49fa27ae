//! Safe regeneration: decides, for every file, whether a run creates, updates, keeps or
//! sets aside (`FILE.new`) — from the new contents, the previous manifest and what is on
//! disk now. Pure: the caller reads the disk and carries out the actions.

use super::manifest::{hash, Entry, Manifest, Owner};
use super::GeneratedFile;
use std::collections::BTreeMap;

/// What a run does to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The file does not exist: write it.
    Create,
    /// archc's earlier version is unchanged on disk: replace it.
    Update,
    /// On disk already exactly as generated.
    Unchanged,
    /// A user-owned file that already exists: never touched.
    KeepUser,
    /// The user changed an archc-owned file: keep it, write the new version to `FILE.new`.
    Conflict,
    /// `--force`: the user changed the file, and it is overwritten anyway.
    Overwrite,
    /// archc wrote it earlier, no longer generates it, and the user did not change it.
    Remove,
    /// archc wrote it earlier and no longer generates it, but the user changed it: kept.
    KeepStale,
}

impl Action {
    /// The word printed by `--dry-run` and the normal report.
    pub fn word(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::KeepUser => "keep (yours)",
            Action::Conflict => "keep (changed by you; new version in .new)",
            Action::Overwrite => "overwrite (--force)",
            Action::Remove => "remove (no longer generated)",
            Action::KeepStale => "keep (no longer generated, changed by you)",
        }
    }

    /// True when the output directory is out of date (`--check`).
    pub fn is_change(&self) -> bool {
        !matches!(
            self,
            Action::Unchanged | Action::KeepUser | Action::KeepStale
        )
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Relative path.
    pub path: String,
    /// What happens to it.
    pub action: Action,
}

/// The plan of a run and the manifest to write after it.
#[derive(Debug, Clone)]
pub struct UpdatePlan {
    /// Steps in path order.
    pub steps: Vec<Step>,
    /// The manifest describing the directory after the run.
    pub manifest: Manifest,
}

/// Plans a run. `on_disk(path)` returns the current bytes of a path, if it exists.
/// `keep_outside(path)` is true for previous files outside the part being regenerated
/// (`--only`), which are left alone and stay in the manifest.
pub fn plan(
    files: &[GeneratedFile],
    previous: Option<&Manifest>,
    on_disk: &dyn Fn(&str) -> Option<Vec<u8>>,
    force: bool,
    keep_outside: &dyn Fn(&str) -> bool,
    header: (&str, &str),
) -> UpdatePlan {
    let empty = BTreeMap::new();
    let old = previous.map(|m| &m.files).unwrap_or(&empty);
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut steps = Vec::new();
    for file in files {
        let new_hash = hash(&file.contents);
        let disk = on_disk(&file.path);
        let action = match (&disk, file.owner) {
            (None, _) => Action::Create,
            (Some(_), Owner::User) => Action::KeepUser,
            (Some(bytes), Owner::Archc) if *bytes == file.contents => Action::Unchanged,
            (Some(bytes), Owner::Archc) => {
                let untouched = old.get(&file.path).is_some_and(|e| e.sha256 == hash(bytes));
                match (untouched, force) {
                    (true, _) => Action::Update,
                    (false, true) => Action::Overwrite,
                    (false, false) => Action::Conflict,
                }
            }
        };
        let recorded = match action {
            // The manifest keeps the hash of what archc last wrote over the user's file, so
            // the conflict is reported again until the user resolves it.
            Action::Conflict => old.get(&file.path).map(|e| e.sha256.clone()),
            Action::KeepUser => Some(
                old.get(&file.path)
                    .map(|e| e.sha256.clone())
                    .unwrap_or(new_hash),
            ),
            _ => Some(new_hash),
        };
        if let Some(sha256) = recorded {
            entries.insert(
                file.path.clone(),
                Entry {
                    sha256,
                    owner: file.owner,
                },
            );
        }
        steps.push(Step {
            path: file.path.clone(),
            action,
        });
    }
    for (path, entry) in old {
        if entries.contains_key(path) {
            continue;
        }
        if keep_outside(path) {
            entries.insert(path.clone(), entry.clone());
            continue;
        }
        let Some(bytes) = on_disk(path) else {
            continue;
        };
        let action = if entry.owner == Owner::Archc && hash(&bytes) == entry.sha256 {
            Action::Remove
        } else {
            Action::KeepStale
        };
        steps.push(Step {
            path: path.clone(),
            action,
        });
    }
    steps.sort_by(|a, b| a.path.cmp(&b.path));
    UpdatePlan {
        steps,
        manifest: Manifest {
            archc_version: header.0.to_string(),
            source: header.1.to_string(),
            files: entries,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str, owner: Owner) -> GeneratedFile {
        GeneratedFile {
            path: path.into(),
            contents: text.as_bytes().to_vec(),
            owner,
        }
    }

    fn run(
        files: &[GeneratedFile],
        previous: Option<&Manifest>,
        disk: &[(&str, &str)],
        force: bool,
    ) -> UpdatePlan {
        let disk: BTreeMap<String, Vec<u8>> = disk
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect();
        plan(
            files,
            previous,
            &|p| disk.get(p).cloned(),
            force,
            &|_| false,
            ("0.1.0", "main.arch"),
        )
    }

    fn actions(plan: &UpdatePlan) -> Vec<(&str, Action)> {
        plan.steps
            .iter()
            .map(|s| (s.path.as_str(), s.action.clone()))
            .collect()
    }

    #[test]
    fn a_first_run_creates_everything() {
        let files = [file("a", "1", Owner::Archc), file("h", "x", Owner::User)];
        let p = run(&files, None, &[], false);
        assert_eq!(
            actions(&p),
            vec![("a", Action::Create), ("h", Action::Create)]
        );
        assert_eq!(p.manifest.files["a"].sha256, hash(b"1"));
    }

    #[test]
    fn an_untouched_file_is_updated_and_a_changed_one_is_set_aside() {
        let first = run(
            &[file("a", "1", Owner::Archc), file("b", "1", Owner::Archc)],
            None,
            &[],
            false,
        );
        let files = [file("a", "2", Owner::Archc), file("b", "2", Owner::Archc)];
        let p = run(
            &files,
            Some(&first.manifest),
            &[("a", "1"), ("b", "edited")],
            false,
        );
        assert_eq!(
            actions(&p),
            vec![("a", Action::Update), ("b", Action::Conflict)]
        );
        // The conflict stays recorded against archc's last version, not the new one.
        assert_eq!(p.manifest.files["b"].sha256, hash(b"1"));
        let forced = run(
            &files,
            Some(&first.manifest),
            &[("a", "1"), ("b", "edited")],
            true,
        );
        assert_eq!(forced.steps[1].action, Action::Overwrite);
    }

    #[test]
    fn user_files_are_never_touched_once_they_exist() {
        let files = [file("h", "new template", Owner::User)];
        let p = run(&files, None, &[("h", "my code")], true);
        assert_eq!(actions(&p), vec![("h", Action::KeepUser)]);
    }

    #[test]
    fn files_no_longer_generated_are_removed_only_when_unchanged() {
        let first = run(
            &[file("a", "1", Owner::Archc), file("b", "1", Owner::Archc)],
            None,
            &[],
            false,
        );
        let p = run(
            &[],
            Some(&first.manifest),
            &[("a", "1"), ("b", "mine")],
            false,
        );
        assert_eq!(
            actions(&p),
            vec![("a", Action::Remove), ("b", Action::KeepStale)]
        );
        assert!(p.manifest.files.is_empty());
    }

    #[test]
    fn an_identical_file_is_unchanged_even_without_a_manifest() {
        let p = run(&[file("a", "1", Owner::Archc)], None, &[("a", "1")], false);
        assert_eq!(actions(&p), vec![("a", Action::Unchanged)]);
        assert!(!p.steps[0].action.is_change());
    }
}
