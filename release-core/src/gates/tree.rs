//! What a command gate may not change: HEAD and every ref, the index, the content of tracked
//! and untracked files, and the evidence record. A snapshot is taken before and after each
//! gate; git unable to answer on either side means the check cannot be made, which is said
//! (the gate is then `Incomplete`), never taken as "nothing changed".

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::{clock::Clock, repo::Repo};

/// Paths under `.scratch/` are the tool's own output (the evidence record, compared on its
/// own) and never make the tree dirty.
pub fn is_own_output(path: &str) -> bool {
    path.trim_matches('"').starts_with(".scratch/")
}

/// A fingerprint of everything a gate must leave alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    head: String,
    refs: Vec<String>,
    index: [u8; 32],
    status: Vec<String>,
    tracked: [u8; 32],
    untracked: Vec<(String, [u8; 32])>,
    record: Vec<(String, String)>,
}

/// What a gate did to the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing it may not change changed.
    None,
    /// These things changed (in words).
    Changed(String),
    /// The comparison could not be made: why.
    Unknown(String),
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The content hash of a file (a symlink: of where it points), read in pieces.
fn file_digest(path: &camino::Utf8Path) -> anyhow::Result<[u8; 32]> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| anyhow::anyhow!("cannot stat {path}: {e}"))?;
    if meta.file_type().is_symlink() {
        let to = std::fs::read_link(path).map_err(|e| anyhow::anyhow!("cannot read link {path}: {e}"))?;
        return Ok(digest(to.to_string_lossy().as_bytes()));
    }
    if !meta.is_file() {
        return Ok(digest(b"(not a regular file)"));
    }
    let mut file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("cannot open {path}: {e}"))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// Takes the snapshot; an error says which question git (or the file system) did not answer.
pub fn snapshot(repo: &Repo, clock: &Clock) -> anyhow::Result<Snapshot> {
    let head = repo.head()?;
    let refs = repo.git(&["for-each-ref", "--format=%(objectname) %(refname)"])?.lines().map(str::to_owned).collect();
    let index = digest(repo.git(&["ls-files", "--stage", "-z"])?.as_bytes());
    let status = repo
        .git(&["status", "--porcelain", "--untracked-files=all"])?
        .lines()
        .filter(|l| !l.get(3..).is_some_and(is_own_output))
        .map(str::to_owned)
        .collect();
    let tracked = digest(repo.git(&["diff", "HEAD", "--no-ext-diff", "--no-textconv", "--binary"])?.as_bytes());
    let mut untracked = Vec::new();
    for path in repo.git(&["ls-files", "--others", "--exclude-standard", "-z"])?.split('\0') {
        if path.is_empty() || is_own_output(path) {
            continue;
        }
        untracked.push((path.to_string(), file_digest(&repo.path(path))?));
    }
    let record = crate::evidence::record_files(repo, clock)?;
    Ok(Snapshot { head, refs, index, status, tracked, untracked, record })
}

/// What changed between `before` and a snapshot taken now, and that snapshot (the next gate's
/// `before`).
pub fn changes(repo: &Repo, clock: &Clock, before: &anyhow::Result<Snapshot>) -> (Change, anyhow::Result<Snapshot>) {
    let after = snapshot(repo, clock);
    let change = match (before, &after) {
        (Err(e), _) => Change::Unknown(format!("git could not describe the tree before the gate: {e:#}")),
        (_, Err(e)) => Change::Unknown(format!("git could not describe the tree after the gate: {e:#}")),
        (Ok(b), Ok(a)) => describe(b, a),
    };
    (change, after)
}

fn describe(b: &Snapshot, a: &Snapshot) -> Change {
    let mut said = Vec::new();
    let short = |c: &str| c[..c.len().min(12)].to_string();
    if b.head != a.head {
        said.push(format!("HEAD moved from {} to {}", short(&b.head), short(&a.head)));
    }
    let refs: Vec<&str> = a
        .refs
        .iter()
        .filter(|r| !b.refs.contains(r))
        .chain(b.refs.iter().filter(|r| !a.refs.contains(r)))
        .filter_map(|r| r.split_whitespace().nth(1))
        .collect();
    if !refs.is_empty() {
        let mut refs = refs;
        refs.sort();
        refs.dedup();
        said.push(format!("refs changed: {}", refs.join(", ")));
    }
    if b.index != a.index {
        said.push("the index changed".into());
    }
    let new: Vec<&str> = a.status.iter().filter(|l| !b.status.contains(l)).map(|l| l.as_str()).collect();
    if !new.is_empty() {
        said.push(new.join("; "));
    } else if b.tracked != a.tracked || b.status != a.status {
        said.push("files that were already modified changed again".into());
    }
    let untracked: Vec<&str> = a
        .untracked
        .iter()
        .filter(|(p, h)| b.untracked.iter().any(|(bp, bh)| bp == p && bh != h))
        .map(|(p, _)| p.as_str())
        .collect();
    if !untracked.is_empty() {
        said.push(format!("untracked file(s) rewritten: {}", untracked.join(", ")));
    }
    let record = rewritten_records(&b.record, &a.record);
    if !record.is_empty() {
        said.push(format!(
            "the evidence record was rewritten: .scratch/release/{}",
            record.join(", .scratch/release/")
        ));
    }
    if said.is_empty() { Change::None } else { Change::Changed(said.join("; ")) }
}

/// The record files that changed other than by this tool's own locked writes (another
/// command of the tool may append to the record while a gate runs; that is not the gate).
fn rewritten_records(before: &[(String, String)], after: &[(String, String)]) -> Vec<String> {
    let text = |files: &[(String, String)], name: &str| files.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone());
    let mut stems: Vec<String> = before
        .iter()
        .chain(after)
        .map(|(n, _)| n.trim_end_matches(".json").trim_end_matches(".md").to_string())
        .collect();
    stems.sort();
    stems.dedup();
    let mut rewritten = Vec::new();
    for stem in stems {
        let (json, md) = (format!("{stem}.json"), format!("{stem}.md"));
        let (old_json, old_md) = (text(before, &json), text(before, &md));
        let (new_json, new_md) = (text(after, &json), text(after, &md));
        if (&old_json, &old_md) == (&new_json, &new_md) {
            continue;
        }
        let by_the_tool = new_json
            .as_deref()
            .is_some_and(|j| crate::evidence::is_tool_update(old_json.as_deref(), j, new_md.as_deref()));
        if !by_the_tool {
            rewritten.push(if old_json == new_json { md } else { json });
        }
    }
    rewritten
}
