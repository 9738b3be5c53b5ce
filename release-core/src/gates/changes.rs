//! What changed since the base tag, for `when_changed` gates (docs/gates.md).
//!
//! Two things make the answer honest:
//!
//! - **A release's own version bump is not a change.** Every release rewrites the version
//!   surfaces (`Cargo.toml`, `Cargo.lock`'s root entry, `package.json`, ...), so a gate keyed
//!   to `Cargo.lock` would run on every release. A surface file whose only difference from the
//!   base is the text of its `[[version]]` fields does not count as changed; any other edit in
//!   it does, and so does a file that cannot be read or parsed on either side (fail closed).
//! - **A clone without the base tag says so.** A shallow clone (CI's `actions/checkout`
//!   without `fetch-depth: 0`) has no tags and no history: rather than running every
//!   conditional gate with no word of why, each is INCOMPLETE naming `fetch-depth: 0` and
//!   `git fetch --tags`. A full clone with no release tag below the target (a first release)
//!   runs them, fail closed, and says the same thing in the finding.

use std::collections::BTreeMap;

use camino::Utf8Path;

use crate::{
    policy::{PathPattern, Surface},
    repo::Repo,
    target::ReleaseTarget,
    versions::{self, Reading},
};

/// How to get the tags, said wherever they are missing.
pub const FETCH_TAGS: &str = "fetch the tags: `git fetch --tags` (and `git fetch --unshallow` in a shallow clone); \
                              in GitHub Actions, actions/checkout with `fetch-depth: 0`";

/// Whether a conditional gate should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// This changed path matched.
    Matched(String),
    /// Nothing matched.
    NoMatch,
    /// Could not tell (no base tag, git failed): run, failing closed.
    Unknown(String),
    /// The clone lacks the history to tell (shallow, or the base tag is not in it): the gate is
    /// incomplete until the tags are fetched.
    NoHistory(String),
}

/// The changed paths since the base tag, computed once per run, and the last work-tree
/// snapshot (so each command gate costs one snapshot, not two).
#[derive(Debug)]
pub struct Changes {
    base: Option<String>,
    target: String,
    surfaces: Vec<Surface>,
    paths: Option<Result<Vec<String>, Missing>>,
    /// The tree as the previous command gate left it (`None`: not taken yet; `Some(Err)`:
    /// git could not describe it).
    pub snapshot: Option<anyhow::Result<super::tree::Snapshot>>,
}

/// Why the changed paths are not known.
#[derive(Debug, Clone)]
enum Missing {
    /// Run anyway (fail closed), saying why.
    Unknown(String),
    /// The clone lacks what is needed.
    NoHistory(String),
}

impl Changes {
    /// Changes since `base` (none: unknown) for a release of `target`; a file that differs
    /// only in `surfaces` (the policy's `[[version]]` fields) does not count.
    pub fn new(base: Option<String>, target: &ReleaseTarget, surfaces: &[Surface]) -> Changes {
        Changes { base, target: target.tag(), surfaces: surfaces.to_vec(), paths: None, snapshot: None }
    }

    /// The base tag, or `(no base tag)`.
    pub fn base(&self) -> &str {
        self.base.as_deref().unwrap_or("(no base tag)")
    }

    /// Whether any changed path matches one of `globs`.
    pub fn triggered(&mut self, repo: &Repo, globs: &[PathPattern]) -> Trigger {
        let paths = match &self.paths {
            Some(p) => p,
            None => self.paths.insert(changed(repo, self.base.as_deref(), &self.target, &self.surfaces)),
        };
        match paths {
            Err(Missing::Unknown(why)) => Trigger::Unknown(why.clone()),
            Err(Missing::NoHistory(why)) => Trigger::NoHistory(why.clone()),
            Ok(paths) => match paths.iter().find(|p| globs.iter().any(|g| g.matches(p))) {
                Some(p) => Trigger::Matched(p.clone()),
                None => Trigger::NoMatch,
            },
        }
    }
}

fn is_shallow(repo: &Repo) -> bool {
    repo.git(&["rev-parse", "--is-shallow-repository"]).is_ok_and(|out| out.trim() == "true")
}

/// The paths changed since `base`, without version-only edits of surface files.
fn changed(repo: &Repo, base: Option<&str>, target: &str, surfaces: &[Surface]) -> Result<Vec<String>, Missing> {
    let shallow = is_shallow(repo);
    let Some(base) = base else {
        if shallow {
            return Err(Missing::NoHistory(format!(
                "no base tag: this is a shallow clone with no release tag below {target}, so what changed \
                 since the last release cannot be told; {FETCH_TAGS}; or pass --base-tag"
            )));
        }
        return Err(Missing::Unknown(format!(
            "no base tag to compare with: this clone has no release tag below {target}; if {target} is not \
             the first release, the clone lacks its tags: {FETCH_TAGS}; or pass --base-tag"
        )));
    };
    match repo.tag_commit(base) {
        Ok(Some(_)) => {}
        Ok(None) => {
            let clone = if shallow { "this shallow clone" } else { "this clone" };
            return Err(Missing::NoHistory(format!(
                "the base tag {base} is not in {clone}, so what changed since it cannot be told; {FETCH_TAGS}"
            )));
        }
        Err(e) => return Err(Missing::Unknown(format!("cannot look up the base tag {base}: {e:#}"))),
    }
    let paths =
        repo.changed_since(base).map_err(|e| Missing::Unknown(format!("cannot list changes since {base}: {e:#}")))?;
    let mut by_file: BTreeMap<&Utf8Path, Vec<&Surface>> = BTreeMap::new();
    for s in surfaces {
        by_file.entry(&s.file).or_default().push(s);
    }
    Ok(paths
        .into_iter()
        .filter(|p| match by_file.get(Utf8Path::new(p.as_str())) {
            Some(surfaces) => !only_versions_differ(repo, base, p, surfaces),
            None => true,
        })
        .collect())
}

/// True when `file` at `base` and in the work tree are the same text once the version fields
/// of `surfaces` are taken out. Anything unreadable or unparsable is a real change.
fn only_versions_differ(repo: &Repo, base: &str, file: &str, surfaces: &[&Surface]) -> bool {
    let Ok(old) = repo.git(&["show", &format!("{base}:{file}")]) else { return false };
    let Ok(Some(new)) = crate::fsutil::read_regular(&repo.path(file)) else { return false };
    match (without_versions(file, &old, surfaces), without_versions(file, &new, surfaces)) {
        (Some(old), Some(new)) => old == new,
        _ => false,
    }
}

/// `text` with the version text of every surface removed; `None` when one is not found.
fn without_versions(file: &str, text: &str, surfaces: &[&Surface]) -> Option<String> {
    let mut spans = Vec::new();
    let parsed = versions::SurfaceFile::new(text.to_string());
    for s in surfaces {
        match parsed.read(Utf8Path::new(file), &s.kind) {
            Ok(Reading::Found(found)) => spans.push(found.span),
            _ => return None,
        }
    }
    // Cut from the end so earlier spans stay valid; two surfaces may name the same bytes.
    spans.sort_by_key(|span| std::cmp::Reverse(span.start));
    spans.dedup_by_key(|span| span.start);
    let mut out = text.to_string();
    for span in spans {
        out.replace_range(span, "");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SurfaceKind;

    fn toml_surface(file: &str, field: &str) -> Surface {
        let path = crate::policy::FieldPath::parse(field).unwrap();
        Surface { file: file.into(), kind: SurfaceKind::Toml(path), policy_line: 1 }
    }

    #[test]
    fn only_the_version_fields_are_taken_out() {
        let s = toml_surface("Cargo.toml", "package.version");
        let old = "[package]\nname = \"p\"\nversion = \"0.7.2\" # lockstep\n\n[dependencies]\nanyhow = \"1\"\n";
        let bumped = old.replace("0.7.2", "0.8.0");
        let dep = bumped.replace("anyhow = \"1\"", "anyhow = \"1\"\nlibc = \"0.2\"");
        let strip = |t: &str| without_versions("Cargo.toml", t, &[&s]);
        assert_eq!(strip(old), strip(&bumped), "a version bump is no change");
        assert_ne!(strip(old), strip(&dep), "a dependency is");
        assert_eq!(strip("[package]\nname = \"p\"\n"), None, "a missing field is a change (fail closed)");
    }
}
