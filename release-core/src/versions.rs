//! Version surfaces: every file that carries the project's version in lockstep.
//!
//! [`read`] finds the exact bytes of each version (a TOML field, a JSON field, or the root
//! package's `Cargo.lock` entry); [`check`] reports each surface and fails on any mismatch or
//! missing field; [`bump`] rewrites only those bytes, in every file or in none, through a
//! journal in the git directory (`journal.rs`) so that a kill at any moment is completed or
//! rolled back by the next command ([`recover`]).
//!
//! A surface must be a regular file (a FIFO would hang the read): anything else is an error
//! naming it. A symlinked surface is read and edited through its link (the file it points to,
//! which must be inside the repository, is replaced; the link stays a link).

mod journal;
mod parsed;

use std::{collections::BTreeMap, ops::Range};

use anyhow::{Context, bail};
use camino::Utf8Path;
pub(crate) use parsed::SurfaceFile;

use crate::{
    fsutil,
    policy::{Policy, Surface},
    repo::Repo,
    report::CheckId,
    report::{Evidence, Finding, Report},
    target::ReleaseTarget,
};

/// Check id used in findings.
pub const CHECK: CheckId = CheckId::VERSIONS;

/// Where a version was found inside a surface file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The version text, without quotes.
    pub value: String,
    /// Byte range of that text in the file.
    pub span: Range<usize>,
    /// 1-based line of the value.
    pub line: usize,
}

/// What reading one surface gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// The version is there.
    Found(Found),
    /// The file exists and parses, but the field is absent or not a plain string.
    Missing(String),
    /// The file does not exist.
    NoFile,
}

/// Reads every surface, in order. Syntax errors are `Err` naming the file, line and column (the
/// first, in surface order); a missing file or field is a [`Reading`], because the check
/// reports it as a finding. Each file is read and parsed (TOML, JSON, line numbers) once for all
/// the surfaces it holds: a file of a thousand surfaces costs one parse, not a thousand.
pub fn read_all(repo: &Repo, surfaces: &[Surface]) -> anyhow::Result<Vec<Reading>> {
    let mut files: BTreeMap<&Utf8Path, Option<SurfaceFile>> = BTreeMap::new();
    let mut readings = Vec::with_capacity(surfaces.len());
    for surface in surfaces {
        let file = match files.get(surface.file.as_path()) {
            Some(file) => file,
            None => {
                let path = repo.path(&surface.file);
                let text = fsutil::read_regular(&path).with_context(|| format!("version file {}", surface.file))?;
                files.entry(&surface.file).or_insert(text.map(SurfaceFile::new))
            }
        };
        readings.push(match file {
            Some(file) => file.read(&surface.file, &surface.kind)?,
            None => Reading::NoFile,
        });
    }
    Ok(readings)
}

/// Reads every surface and reports each: pass when it agrees with the others, fail on a
/// mismatch, a missing field or file, or a value that is not a release version. Syntax errors
/// in a surface file are `Err`.
pub fn check(repo: &Repo, policy: &Policy) -> anyhow::Result<Report> {
    check_surfaces(repo, policy, None)
}

/// As [`check`], but every surface must equal `target` (the tag about to be made).
pub fn check_target(repo: &Repo, policy: &Policy, target: &ReleaseTarget) -> anyhow::Result<Report> {
    check_surfaces(repo, policy, Some(target))
}

fn check_surfaces(repo: &Repo, policy: &Policy, expected: Option<&ReleaseTarget>) -> anyhow::Result<Report> {
    let readings: Vec<(&Surface, Reading)> = policy.surfaces.iter().zip(read_all(repo, &policy.surfaces)?).collect();
    let parsed = |r: &Reading| match r {
        Reading::Found(f) => ReleaseTarget::parse_any(&f.value).ok(),
        _ => None,
    };
    let reference = match expected {
        Some(t) => Some(t.clone()),
        None => most_common(readings.iter().filter_map(|(_, r)| parsed(r))),
    };
    let mut findings = Vec::new();
    if policy.surfaces.is_empty() {
        findings.push(Finding::incomplete(
            CHECK,
            "version surfaces",
            format!("{} lists no [[version]] surfaces", policy.path),
        ));
    }
    for (surface, reading) in &readings {
        let subject = format!("{} {}", surface.file, surface.location());
        let finding = match reading {
            Reading::NoFile => Finding::fail(CHECK, subject, format!("{} does not exist", surface.file))
                .with(Evidence::file_line(policy.path.as_str(), surface.policy_line)),
            Reading::Missing(why) => Finding::fail(CHECK, subject, format!("{} {why}", surface.file))
                .with(Evidence::file(surface.file.as_str())),
            Reading::Found(found) => {
                let evidence = Evidence::file_line(surface.file.as_str(), found.line);
                match (ReleaseTarget::parse_any(&found.value), &reference) {
                    (Err(e), _) => {
                        Finding::fail(CHECK, subject, format!("{} is not a release version: {e:#}", found.value))
                    }
                    (Ok(v), Some(reference)) if &v != reference => {
                        let against =
                            if expected.is_some() { "the release target is" } else { "the other surfaces say" };
                        Finding::fail(
                            CHECK,
                            subject,
                            format!("{} is {}, but {against} {}", surface.file, found.value, reference.version()),
                        )
                    }
                    (Ok(_), _) => Finding::pass(CHECK, subject, format!("{} = {}", surface.location(), found.value)),
                }
                .with(evidence)
            }
        };
        findings.push(finding);
    }
    Ok(Report::new(CHECK.as_str(), expected.map(|t| t.tag()), findings))
}

/// The version every surface carries, when all are present and agree; `None` otherwise.
pub fn agreed(repo: &Repo, policy: &Policy) -> anyhow::Result<Option<ReleaseTarget>> {
    let mut agreed: Option<ReleaseTarget> = None;
    for reading in read_all(repo, &policy.surfaces)? {
        let Reading::Found(found) = reading else { return Ok(None) };
        let Ok(version) = ReleaseTarget::parse_any(&found.value) else { return Ok(None) };
        match &agreed {
            Some(a) if *a != version => return Ok(None),
            _ => agreed = Some(version),
        }
    }
    Ok(agreed)
}

/// The value most surfaces agree on; ties go to the one that appears first.
fn most_common(values: impl Iterator<Item = ReleaseTarget>) -> Option<ReleaseTarget> {
    let values: Vec<_> = values.collect();
    let mut counts: std::collections::HashMap<&ReleaseTarget, usize> = std::collections::HashMap::new();
    for v in &values {
        *counts.entry(v).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    values.iter().find(|v| counts[v] == best).cloned()
}

/// One file changed by `versions --set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The file, relative to the root.
    pub file: camino::Utf8PathBuf,
    /// Each version replaced in it: (old, new).
    pub replaced: Vec<(String, String)>,
}

/// Sets `new` on every surface. Only the version text changes: formatting, comments, key
/// order, permissions and trailing newlines stay. All or nothing: every file is read, edited
/// and staged before any is replaced, and if replacing fails midway the replaced ones are
/// restored.
pub fn bump(repo: &Repo, policy: &Policy, new: &ReleaseTarget) -> anyhow::Result<Vec<Change>> {
    if policy.surfaces.is_empty() {
        bail!("{} lists no [[version]] surfaces to bump", policy.path);
    }
    // Group surfaces by file: one file (package-lock.json) may hold several.
    let mut files: BTreeMap<&Utf8Path, Vec<&Surface>> = BTreeMap::new();
    for surface in &policy.surfaces {
        files.entry(&surface.file).or_default().push(surface);
    }
    let mut edits = Vec::new();
    for (file, surfaces) in files {
        let path = real_path_inside(repo, file)?;
        let Some(text) = fsutil::read_regular(&path).with_context(|| format!("version file {file}"))? else {
            bail!("cannot bump {file}: it does not exist");
        };
        let mut spans = Vec::new();
        let parsed = SurfaceFile::new(text.clone());
        for surface in surfaces {
            match parsed.read(file, &surface.kind)? {
                Reading::Found(found) => {
                    // A Python surface already written in PEP 440 form stays in that form.
                    let pep440_style =
                        ReleaseTarget::parse(&found.value).is_err() && ReleaseTarget::parse_any(&found.value).is_ok();
                    let value = if pep440_style { new.pep440().to_string() } else { new.version() };
                    spans.push((found, value));
                }
                Reading::Missing(why) => bail!("cannot bump {file}: it {why}"),
                Reading::NoFile => bail!("cannot bump {file}: it does not exist"),
            }
        }
        spans.sort_by_key(|(f, _)| std::cmp::Reverse(f.span.start));
        spans.dedup_by_key(|(f, _)| f.span.start);
        let mut edited = text.clone();
        let mut replaced = Vec::new();
        for (found, value) in &spans {
            edited.replace_range(found.span.clone(), value);
            replaced.push((found.value.clone(), value.clone()));
        }
        replaced.reverse();
        edits.push((path, text, edited, Change { file: file.to_owned(), replaced }));
    }

    // Stage everything first (a read-only file or a full disk stops us before any rename),
    // then replace every file under the journal.
    let replace: Vec<journal::Replace<'_>> =
        edits.iter().map(|(path, old, new, _)| journal::Replace { dest: path, old, new }).collect();
    journal::replace_all(repo, &new.version(), &replace)?;
    Ok(edits.into_iter().map(|(.., change)| change).collect())
}

/// Completes or rolls back a `versions --set` that was killed; says what it did, or `None`
/// when there was nothing to do. Every command that reads the surfaces calls it first.
pub fn recover(repo: &Repo) -> anyhow::Result<Option<String>> {
    journal::recover(repo)
}

/// The real file behind surface `file` (symlinks resolved), which must be inside the
/// repository: the bump replaces that file, so a link stays a link and nothing outside the
/// repository is ever written. A file that does not exist is returned as is.
fn real_path_inside(repo: &Repo, file: &Utf8Path) -> anyhow::Result<camino::Utf8PathBuf> {
    let path = repo.path(file);
    let real = match path.canonicalize_utf8() {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path),
        Err(e) => return Err(e).with_context(|| format!("cannot resolve version file {file}")),
    };
    let root = repo.root().canonicalize_utf8().with_context(|| format!("cannot resolve {}", repo.root()))?;
    if !real.starts_with(&root) {
        bail!("version file {file} resolves to {real}, outside the repository {root}: refusing to edit it");
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{FieldPath, SurfaceKind};

    /// One surface of `kind` in `text`; `file` is used in messages.
    fn read_text(file: &Utf8Path, text: &str, kind: &SurfaceKind) -> anyhow::Result<Reading> {
        SurfaceFile::new(text.to_string()).read(file, kind)
    }

    fn found(file: &str, text: &str, kind: SurfaceKind) -> Reading {
        read_text(Utf8Path::new(file), text, &kind).unwrap()
    }

    fn field(p: &str) -> FieldPath {
        FieldPath::parse(p).unwrap()
    }

    #[test]
    fn toml_value_span_excludes_quotes_and_comments() {
        let text = "[package]\nname = \"x\"\nversion = \"0.8.0\" # keep me\n";
        let Reading::Found(f) = found("Cargo.toml", text, SurfaceKind::Toml(field("package.version"))) else {
            panic!()
        };
        assert_eq!(f.value, "0.8.0");
        assert_eq!(f.line, 3);
        assert_eq!(&text[f.span.clone()], "0.8.0");
    }

    #[test]
    fn json_nested_empty_key() {
        let text = "{\n  \"version\": \"0.8.0\",\n  \"packages\": {\n    \"\": { \"version\": \"0.7.0\" }\n  }\n}\n";
        let Reading::Found(f) = found("p.json", text, SurfaceKind::Json(field(r#"packages."".version"#))) else {
            panic!()
        };
        assert_eq!((f.value.as_str(), f.line), ("0.7.0", 4));
    }

    #[test]
    fn missing_json_key_is_missing_not_the_string_null() {
        // Bug 10: jq read a missing key as "null", which then showed up as a mismatch.
        let r = found("p.json", "{\"name\": \"x\"}", SurfaceKind::Json(field("version")));
        assert_eq!(r, Reading::Missing("has no `version`".into()));
        let r = found("p.json", "{\"version\": null}", SurfaceKind::Json(field("version")));
        assert!(matches!(r, Reading::Missing(ref m) if m.contains("not a string")), "{r:?}");
    }

    #[test]
    fn lock_picks_the_local_entry() {
        let text = "version = 4\n\n[[package]]\nname = \"x\"\nversion = \"1.0.0\"\nsource = \"registry+https://example.invalid\"\n\n[[package]]\nname = \"x\"\nversion = \"0.8.0\"\n";
        let Reading::Found(f) = found("Cargo.lock", text, SurfaceKind::CargoLock { package: "x".into() }) else {
            panic!()
        };
        assert_eq!((f.value.as_str(), f.line), ("0.8.0", 10));
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let e = read_text(
            Utf8Path::new("a/Cargo.toml"),
            "[package]\nversion = \n",
            &SurfaceKind::Toml(field("package.version")),
        )
        .unwrap_err();
        assert!(format!("{e:#}").starts_with("a/Cargo.toml:2:"), "{e:#}");
        let e = read_text(Utf8Path::new("p.json"), "{\n \"a\": 1,\n}", &SurfaceKind::Json(field("a"))).unwrap_err();
        assert!(format!("{e:#}").starts_with("p.json:3:"), "{e:#}");
    }
}
