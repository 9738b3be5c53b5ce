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

use std::{collections::BTreeMap, ops::Range};

use anyhow::{Context, bail};
use camino::Utf8Path;
use serde_json::value::RawValue;

use crate::{
    fsutil,
    policy::{FieldPath, Policy, Surface, SurfaceKind, line_col},
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

/// Reads one surface. Syntax errors are `Err` naming the file, line and column; a missing file or
/// field is a [`Reading`], because the check reports it as a finding.
pub fn read(repo: &Repo, surface: &Surface) -> anyhow::Result<Reading> {
    let path = repo.path(&surface.file);
    let text = match fsutil::read_regular(&path).with_context(|| format!("version file {}", surface.file))? {
        Some(text) => text,
        None => return Ok(Reading::NoFile),
    };
    read_text(&surface.file, &text, &surface.kind)
}

/// [`read`] on text already in memory; `file` is used in messages.
pub fn read_text(file: &Utf8Path, text: &str, kind: &SurfaceKind) -> anyhow::Result<Reading> {
    let span = match kind {
        SurfaceKind::Toml(path) => toml_span(file, text, path)?,
        SurfaceKind::Json(path) => json_span(file, text, path)?,
        SurfaceKind::CargoLock { package } => lock_span(file, text, package)?,
    };
    Ok(match span {
        Ok(span) => {
            Reading::Found(Found { value: text[span.clone()].to_string(), line: line_col(text, span.start).0, span })
        }
        Err(why) => Reading::Missing(why),
    })
}

/// Byte range inside the quotes of a one-line string value, if `repr` is one.
fn inner(repr_span: Range<usize>, text: &str) -> Result<Range<usize>, String> {
    let repr = &text[repr_span.clone()];
    let quoted = repr.len() >= 2
        && ((repr.starts_with('"') && repr.ends_with('"')) || (repr.starts_with('\'') && repr.ends_with('\'')));
    if !quoted || repr.starts_with("\"\"\"") || repr.starts_with("'''") {
        return Err(format!("holds {repr}, not a one-line string"));
    }
    let inside = repr_span.start + 1..repr_span.end - 1;
    if text[inside.clone()].contains('\\') {
        return Err(format!("holds {repr}, an escaped string (write the version plainly)"));
    }
    Ok(inside)
}

type Located = Result<Range<usize>, String>;

fn toml_span(file: &Utf8Path, text: &str, path: &FieldPath) -> anyhow::Result<Located> {
    let doc = toml_doc(file, text)?;
    let mut item = doc.as_item();
    for (depth, key) in path.segments().iter().enumerate() {
        let next = item.as_table_like().and_then(|t| t.get(key));
        match next {
            Some(next) => item = next,
            None => {
                let at = FieldPath::from_segments(&path.segments()[..=depth]);
                return Ok(Err(format!("has no `{at}`")));
            }
        }
    }
    match (item.as_str(), item.span()) {
        (Some(_), Some(span)) => Ok(inner(span, text)),
        _ => Ok(Err(format!("`{path}` is not a string (an inherited `version.workspace = true` is not a surface)"))),
    }
}

fn lock_span(file: &Utf8Path, text: &str, package: &str) -> anyhow::Result<Located> {
    let doc = toml_doc(file, text)?;
    let Some(entries) = doc.get("package").and_then(|p| p.as_array_of_tables()) else {
        return Ok(Err("has no [[package]] entries".to_string()));
    };
    // The workspace's own package is the entry with that name and no `source`.
    let local: Vec<_> = entries
        .iter()
        .filter(|t| t.get("name").and_then(|n| n.as_str()) == Some(package) && !t.contains_key("source"))
        .collect();
    let entry = match local.as_slice() {
        [entry] => entry,
        [] => return Ok(Err(format!("has no [[package]] entry for local package `{package}`"))),
        _ => return Ok(Err(format!("has {} local [[package]] entries named `{package}`", local.len()))),
    };
    match entry.get("version") {
        Some(v) if v.as_str().is_some() => Ok(v.span().map_or_else(|| Err("has no span".into()), |s| inner(s, text))),
        _ => Ok(Err(format!("[[package]] `{package}` has no string version"))),
    }
}

fn toml_doc<'a>(file: &Utf8Path, text: &'a str) -> anyhow::Result<toml_edit::Document<&'a str>> {
    toml_edit::Document::parse(text).map_err(|e| {
        let at = e.span().map(|s| line_col(text, s.start));
        let (line, col) = at.unwrap_or((1, 1));
        anyhow::anyhow!("{file}:{line}:{col}: invalid TOML: {}", e.message().trim_end())
    })
}

fn json_span(file: &Utf8Path, text: &str, path: &FieldPath) -> anyhow::Result<Located> {
    let root: &RawValue = serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("{file}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
    let mut raw = root;
    for (depth, key) in path.segments().iter().enumerate() {
        // The document parsed above, so every nested value parses too; a non-object is a miss.
        let object: Option<BTreeMap<String, &RawValue>> = serde_json::from_str(raw.get()).ok();
        match object.as_ref().and_then(|o| o.get(key)) {
            Some(next) => raw = next,
            None => {
                let at = FieldPath::from_segments(&path.segments()[..=depth]);
                return Ok(Err(format!("has no `{at}`")));
            }
        }
    }
    // `raw` borrows from `text`, so its offset is the distance between the two pointers.
    let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let span = start..start + raw.get().len();
    if serde_json::from_str::<String>(raw.get()).is_err() {
        return Ok(Err(format!("`{path}` holds {}, not a string", raw.get())));
    }
    Ok(inner(span, text))
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
    let mut readings = Vec::new();
    for surface in &policy.surfaces {
        readings.push((surface, read(repo, surface)?));
    }
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
    for surface in &policy.surfaces {
        let Reading::Found(found) = read(repo, surface)? else { return Ok(None) };
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
    let count = |v: &ReleaseTarget| values.iter().filter(|w| *w == v).count();
    let best = values.iter().map(count).max()?;
    values.iter().find(|v| count(v) == best).cloned()
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
        for surface in surfaces {
            match read_text(file, &text, &surface.kind)? {
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
