//! The bump journal: how `versions --set` stays all-or-nothing when it is killed.
//!
//! Everything the bump writes before it touches a surface lives in the repository's git
//! directory, `<git dir>/release-core/`, never in the work tree (a kill there used to leave
//! temp files that `clean-tree` then failed on). That folder is inside the repository, so it is
//! normally on the same filesystem as the surfaces and a rename moves a staged file into place
//! atomically; a surface on another filesystem is staged beside itself instead, and the journal
//! still names the staged file so recovery removes it.
//!
//! The order: stage every new file, then write the journal (`bump-journal.json`: each
//! destination with the digest of its old and new content and its staged file), then rename
//! the staged files into place one by one, then remove the journal. So a kill leaves:
//! - no journal: no surface was replaced; recovery removes the staged files (**rolled back**);
//! - a journal: the commit point was passed; recovery renames the staged files that are still
//!   there over the surfaces that still hold their old content (**completed**), and refuses,
//!   keeping the journal, when a surface holds neither the old nor the new content.
//!
//! The folder is locked (the same OS file lock as the evidence record) while a bump or a
//! recovery runs, so two commands never recover or stage at once.

use std::fs;

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{clock::Clock, evidence::Lock, fsutil, repo::Repo};

const JOURNAL: &str = "bump-journal.json";
const LOCK: &str = "bump.lock";
/// Prefix of every staged file, so recovery knows what it may remove.
const STAGED_PREFIX: &str = "bump-staged-";

/// The journal's content.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    /// The version being set.
    version: String,
    files: Vec<JournalEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct JournalEntry {
    /// The surface file (absolute; a symlinked surface's real file).
    dest: Utf8PathBuf,
    /// Where its new content waits.
    staged: Utf8PathBuf,
    old_sha256: String,
    new_sha256: String,
}

/// One file to replace: its real path, old and new content.
#[derive(Debug)]
pub(super) struct Replace<'a> {
    /// The file (absolute, symlinks resolved).
    pub dest: &'a Utf8Path,
    /// Its content now.
    pub old: &'a str,
    /// Its content after the bump.
    pub new: &'a str,
}

/// The journal folder of `repo`: `<git dir>/release-core`.
fn folder(repo: &Repo) -> anyhow::Result<Utf8PathBuf> {
    let dir = repo.git_dir()?.join("release-core");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
    Ok(dir)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Finishes or undoes a bump that was killed, under the lock. Returns what it did, in words,
/// or `None` when there was nothing to do.
pub(super) fn recover(repo: &Repo) -> anyhow::Result<Option<String>> {
    let dir = repo.git_dir()?.join("release-core");
    if !dir.is_dir() {
        return Ok(None);
    }
    let _lock = Lock::acquire(&dir.join(LOCK), &Clock::System)?;
    recover_locked(&dir)
}

fn recover_locked(dir: &Utf8Path) -> anyhow::Result<Option<String>> {
    let journal_path = dir.join(JOURNAL);
    let message = match fsutil::read_regular(&journal_path)? {
        None => None,
        Some(text) => {
            let journal: Journal = serde_json::from_str(&text).with_context(|| {
                format!("{journal_path} (the journal of an interrupted `versions --set`) cannot be read: check the version files, then remove it")
            })?;
            let mut replaced = 0;
            for entry in &journal.files {
                let now = fs::read(&entry.dest).with_context(|| format!("cannot read {}", entry.dest))?;
                let digest = sha256(&now);
                if digest == entry.new_sha256 {
                    continue;
                }
                if digest != entry.old_sha256 || !entry.staged.exists() {
                    bail!(
                        "an interrupted `versions --set {}` cannot be completed: {} holds neither its old nor its new content; check the version files, then remove {journal_path}",
                        journal.version,
                        entry.dest
                    );
                }
                fs::rename(&entry.staged, &entry.dest)
                    .with_context(|| format!("cannot move {} over {}", entry.staged, entry.dest))?;
                replaced += 1;
            }
            for entry in &journal.files {
                let _ = fs::remove_file(&entry.staged);
            }
            fs::remove_file(&journal_path).with_context(|| format!("cannot remove {journal_path}"))?;
            Some(format!(
                "completed an interrupted `versions --set {}`: {replaced} of {} files were still old and now hold the new version",
                journal.version,
                journal.files.len()
            ))
        }
    };
    // Without a journal nothing was replaced: staged files (and a half-written journal's temp
    // file) are all that is left, and removing them is the roll back.
    let mut removed = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {dir}"))? {
        let entry = entry.with_context(|| format!("cannot list {dir}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(STAGED_PREFIX) || name.starts_with(fsutil::TEMP_PREFIX) {
            fs::remove_file(entry.path()).with_context(|| format!("cannot remove {dir}/{name}"))?;
            removed += 1;
        }
    }
    Ok(message.or_else(|| {
        (removed > 0).then(|| {
            format!("rolled back an interrupted `versions --set`: no version file had been changed; removed {removed} staged files from {dir}")
        })
    }))
}

/// Replaces every file in `files` or none, journaled so a kill at any moment is completed or
/// rolled back by the next [`recover`]. A failure before the journal is written changes
/// nothing; a failure while renaming restores the files already replaced.
pub(super) fn replace_all(repo: &Repo, version: &str, files: &[Replace<'_>]) -> anyhow::Result<()> {
    let dir = folder(repo)?;
    let _lock = Lock::acquire(&dir.join(LOCK), &Clock::System)?;
    // The caller recovered already (and said so); this only catches a bump killed since.
    recover_locked(&dir)?;
    let mut staged = Vec::new();
    let mut entries = Vec::new();
    for file in files {
        let stage_dir = if same_filesystem(&dir, file.dest) { dir.clone() } else { parent(file.dest).to_owned() };
        let temp = fsutil::stage_in(&stage_dir, STAGED_PREFIX, file.dest, file.new.as_bytes())
            .with_context(|| format!("cannot bump {}; no file was changed", file.dest))?;
        entries.push(JournalEntry {
            dest: file.dest.to_owned(),
            staged: temp.path().to_owned(),
            old_sha256: sha256(file.old.as_bytes()),
            new_sha256: sha256(file.new.as_bytes()),
        });
        staged.push(temp);
    }
    let journal = Journal { version: version.to_string(), files: entries };
    let text = serde_json::to_string_pretty(&journal).context("cannot serialize the bump journal")?;
    let journal_path = dir.join(JOURNAL);
    fsutil::write_atomic(&journal_path, text.as_bytes())
        .with_context(|| format!("cannot write {journal_path}; no file was changed"))?;
    // The commit point is passed: from here a kill is completed by the next command.
    for (i, temp) in staged.into_iter().enumerate() {
        if let Err(e) = temp.commit() {
            let failures: Vec<String> = files[..i]
                .iter()
                .filter(|f| {
                    let back = fsutil::stage_in(&dir, STAGED_PREFIX, f.dest, f.old.as_bytes());
                    back.and_then(fsutil::Staged::commit).is_err()
                })
                .map(|f| f.dest.to_string())
                .collect();
            if !failures.is_empty() {
                return Err(e.context(format!(
                    "bump interrupted and these files could not be restored: {}; the journal {journal_path} is kept, and the next command completes the bump",
                    failures.join(", ")
                )));
            }
            for entry in &journal.files {
                let _ = fs::remove_file(&entry.staged);
            }
            let _ = fs::remove_file(&journal_path);
            return Err(e.context("bump interrupted; the files already changed were restored"));
        }
    }
    fs::remove_file(&journal_path).with_context(|| format!("cannot remove {journal_path} after the bump"))?;
    Ok(())
}

fn parent(path: &Utf8Path) -> &Utf8Path {
    match path.parent() {
        Some(p) if !p.as_str().is_empty() => p,
        _ => Utf8Path::new("."),
    }
}

#[cfg(unix)]
fn same_filesystem(dir: &Utf8Path, file: &Utf8Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(dir), fs::metadata(parent(file))) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_filesystem(dir: &Utf8Path, file: &Utf8Path) -> bool {
    dir.components().next() == file.components().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with two surfaces, staged for 0.9.0 as a killed bump leaves them.
    fn staged(journal: bool) -> (crate::testing::FixtureRepo, Repo, Vec<Utf8PathBuf>) {
        let fixture = crate::testing::FixtureBuilder::new()
            .file("a.json", "{\"version\": \"0.8.0\"}\n")
            .file("b.json", "{\"version\": \"0.8.0\"}\n")
            .build()
            .unwrap();
        let repo = Repo::discover(fixture.root()).unwrap();
        let dir = folder(&repo).unwrap();
        let mut files = Vec::new();
        for name in ["a.json", "b.json"] {
            let dest = repo.root().canonicalize_utf8().unwrap().join(name);
            let temp = fsutil::stage_in(&dir, STAGED_PREFIX, &dest, b"{\"version\": \"0.9.0\"}\n").unwrap();
            files.push(JournalEntry {
                dest: dest.clone(),
                staged: temp.path().to_owned(),
                old_sha256: sha256(b"{\"version\": \"0.8.0\"}\n"),
                new_sha256: sha256(b"{\"version\": \"0.9.0\"}\n"),
            });
            // A kill leaves the staged file behind: keep it past this scope.
            std::mem::forget(temp);
        }
        let dests = files.iter().map(|f| f.dest.clone()).collect();
        if journal {
            // Killed after the commit point, with the first file already renamed into place.
            fs::rename(&files[0].staged, &files[0].dest).unwrap();
            let text = serde_json::to_string(&Journal { version: "0.9.0".into(), files }).unwrap();
            fs::write(dir.join(JOURNAL), text).unwrap();
        }
        (fixture, repo, dests)
    }

    fn leftovers(repo: &Repo) -> Vec<String> {
        let dir = folder(repo).unwrap();
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn a_journal_is_completed_saying_so() {
        let (_fixture, repo, dests) = staged(true);
        let said = recover(&repo).unwrap().unwrap();
        assert!(said.contains("completed an interrupted `versions --set 0.9.0`: 1 of 2 files"), "{said}");
        for dest in dests {
            assert!(fs::read_to_string(dest).unwrap().contains("0.9.0"));
        }
        assert!(leftovers(&repo).is_empty(), "{:?}", leftovers(&repo));
        assert_eq!(recover(&repo).unwrap(), None, "nothing left to do");
    }

    #[test]
    fn staged_files_without_a_journal_are_rolled_back_saying_so() {
        let (_fixture, repo, dests) = staged(false);
        let said = recover(&repo).unwrap().unwrap();
        assert!(said.contains("rolled back") && said.contains("no version file had been changed"), "{said}");
        for dest in dests {
            assert!(fs::read_to_string(dest).unwrap().contains("0.8.0"));
        }
        assert!(leftovers(&repo).is_empty(), "{:?}", leftovers(&repo));
    }

    #[test]
    fn a_surface_changed_since_the_kill_is_not_overwritten() {
        let (_fixture, repo, dests) = staged(true);
        fs::write(&dests[1], "{\"version\": \"1.0.0\"}\n").unwrap();
        let e = format!("{:#}", recover(&repo).unwrap_err());
        assert!(e.contains("b.json holds neither its old nor its new content") && e.contains(JOURNAL), "{e}");
        assert!(fs::read_to_string(&dests[1]).unwrap().contains("1.0.0"), "left as the user made it");
    }
}
