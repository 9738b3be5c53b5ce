//! Licence and notice files: at the repository root, in the policy's copies, and inside every
//! release archive at the exact path its format puts them (facts §12; docs/notices.md).
//!
//! Archives are read in-process (`flate2` + `tar`, `zip`): no `tar`/`python` subprocess, no
//! pipe that can close early (bug 34). A member counts only at its exact path: a vendored
//! `vendor/x/LICENSE` never stands in for the package's own `LICENSE` (bug 34).

use std::{fs, io::Read};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::{
    policy::{NoticeSearch, NoticesPolicy},
    repo::Repo,
    report::CheckId,
    report::Evidence,
    report::Finding,
    report::Report,
};

/// The check id of every finding here.
pub const CHECK: CheckId = CheckId::NOTICES;

/// The kinds of release archive, each with its own member layout (facts §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Prebuilt SDK archive: members at the root (`./LICENSE` or `LICENSE`).
    Sdk,
    /// Python sdist (or any `.tar.gz` whose members sit under `<name>-<ver>/`).
    Sdist {
        /// The top folder, `plasmite-0.8.0`.
        prefix: String,
    },
    /// Python wheel: `<name>-<ver>.dist-info/licenses/<file>` or `<name>-<ver>.dist-info/<file>`.
    Wheel {
        /// `plasmite-0.8.0`.
        name_version: String,
    },
    /// npm tarball: `package/<file>`.
    Npm,
    /// `.crate`: `<name>-<ver>/<file>`.
    Crate {
        /// The top folder, `plasmite-0.8.0`.
        prefix: String,
    },
}

impl Kind {
    /// Human name, with the layout.
    pub fn describe(&self) -> String {
        match self {
            Kind::Sdk => "SDK archive (members at the root)".into(),
            Kind::Sdist { prefix } => format!("sdist ({prefix}/...)"),
            Kind::Wheel { name_version } => format!("wheel ({name_version}.dist-info/...)"),
            Kind::Npm => "npm tarball (package/...)".into(),
            Kind::Crate { prefix } => format!("crate ({prefix}/...)"),
        }
    }

    /// The accepted member paths for one required file; any one of them satisfies it.
    pub fn required(&self, file: &str) -> Vec<String> {
        match self {
            Kind::Sdk => vec![file.to_string()],
            Kind::Sdist { prefix } | Kind::Crate { prefix } => vec![format!("{prefix}/{file}")],
            Kind::Wheel { name_version } => {
                vec![format!("{name_version}.dist-info/licenses/{file}"), format!("{name_version}.dist-info/{file}")]
            }
            Kind::Npm => vec![format!("package/{file}")],
        }
    }
}

/// `./a/b` -> `a/b`; directories (trailing `/`) -> `None`.
pub fn normalize_member(name: &str) -> Option<String> {
    let mut n = name;
    while let Some(rest) = n.strip_prefix("./") {
        n = rest;
    }
    (!n.is_empty() && !n.ends_with('/')).then(|| n.to_string())
}

/// The stem of a `.tar.gz`/`.tgz`/`.whl`/`.crate` file name, and whether it is one of those.
fn split_name(name: &str) -> Option<(&str, &'static str)> {
    [".tar.gz", ".tgz", ".whl", ".crate"].into_iter().find_map(|ext| name.strip_suffix(ext).map(|stem| (stem, ext)))
}

/// Whether a file name is an archive this check reads.
pub fn is_artifact(name: &str) -> bool {
    split_name(name).is_some()
}

/// Decides the kind of an archive from its name and (for `.tar.gz`) its members.
pub fn kind_of(file_name: &str, members: &[String]) -> anyhow::Result<Kind> {
    let Some((stem, ext)) = split_name(file_name) else {
        bail!("{file_name}: not a .tar.gz, .tgz, .whl or .crate archive");
    };
    Ok(match ext {
        ".whl" => {
            let mut parts = stem.splitn(3, '-');
            match (parts.next(), parts.next()) {
                (Some(name), Some(version)) if !name.is_empty() && !version.is_empty() => {
                    Kind::Wheel { name_version: format!("{name}-{version}") }
                }
                _ => bail!("{file_name}: a wheel name must be <name>-<version>-...whl"),
            }
        }
        ".crate" => Kind::Crate { prefix: stem.to_string() },
        ".tgz" => Kind::Npm,
        _ => {
            let under_stem = |m: &String| m.split('/').next() == Some(stem);
            if !members.is_empty() && members.iter().all(under_stem) {
                Kind::Sdist { prefix: stem.to_string() }
            } else {
                Kind::Sdk
            }
        }
    })
}

/// The file members of an archive (normalized, directories left out), read in-process.
pub fn members(path: &Utf8Path) -> anyhow::Result<Vec<String>> {
    let file = fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let names: Vec<String> = if path.as_str().ends_with(".whl") {
        let zip = zip::ZipArchive::new(file).with_context(|| format!("{path} is not a readable zip archive"))?;
        zip.file_names()
            .map(|n| n.map(|n| n.into_owned()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("{path}: unreadable member name"))?
    } else {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut names = Vec::new();
        for entry in archive.entries().with_context(|| format!("{path} is not a readable .tar.gz"))? {
            let mut entry = entry.with_context(|| format!("{path}: corrupt tar entry"))?;
            if entry.header().entry_type().is_dir() {
                continue;
            }
            names.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
            // Read every byte: a truncated or corrupt archive is an error, never a short list.
            std::io::copy(&mut entry, &mut std::io::sink()).with_context(|| format!("{path}: corrupt member data"))?;
        }
        let mut rest = archive.into_inner();
        let mut trailing = Vec::new();
        rest.read_to_end(&mut trailing).with_context(|| format!("{path}: corrupt gzip stream"))?;
        names
    };
    Ok(names.iter().filter_map(|n| normalize_member(n)).collect())
}

/// Which required files are missing from `members` for `kind`: (file, accepted paths,
/// same-named members elsewhere that do not count).
pub fn missing(kind: &Kind, members: &[String], files: &[String]) -> Vec<(String, Vec<String>, Vec<String>)> {
    files
        .iter()
        .filter_map(|file| {
            let accepted = kind.required(file);
            if accepted.iter().any(|a| members.contains(a)) {
                return None;
            }
            let base = file.rsplit('/').next().unwrap_or(file);
            let elsewhere: Vec<String> =
                members.iter().filter(|m| m.rsplit('/').next() == Some(base)).cloned().collect();
            Some((file.clone(), accepted, elsewhere))
        })
        .collect()
}

/// Checks one archive; never panics and never errors: an unreadable archive is a failure
/// naming the file.
pub fn check_archive(path: &Utf8Path, shown: &str, files: &[String]) -> Finding {
    let name = path.file_name().unwrap_or(path.as_str());
    let result = members(path).and_then(|m| Ok((kind_of(name, &m)?, m)));
    let (kind, members) = match result {
        Ok(ok) => ok,
        Err(e) => {
            return Finding::fail(CHECK, shown, format!("cannot read the archive: {e:#}")).with(Evidence::file(shown));
        }
    };
    let gaps = missing(&kind, &members, files);
    if gaps.is_empty() {
        let at: Vec<String> = files.iter().map(|f| kind.required(f).swap_remove(0)).collect();
        return Finding::pass(CHECK, shown, format!("{}: has {}", kind.describe(), at.join(", ")))
            .with(Evidence::file(shown));
    }
    let parts: Vec<String> = gaps
        .iter()
        .map(|(_, accepted, elsewhere)| {
            let mut s = format!("no {}", accepted.join(" or "));
            if !elsewhere.is_empty() {
                s.push_str(&format!(" ({} elsewhere does not count)", elsewhere.join(", ")));
            }
            s
        })
        .collect();
    Finding::fail(CHECK, shown, format!("{}: {}", kind.describe(), parts.join("; "))).with(Evidence::file(shown))
}

/// The repository-level files, and the copies the policy lists (bug 33: copies drifted).
pub fn check_repo(repo: &Repo, policy: &NoticesPolicy) -> Vec<Finding> {
    let mut findings = Vec::new();
    for file in &policy.files {
        let path = repo.path(file);
        let finding = match fs::read(&path) {
            Ok(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
                Finding::pass(CHECK, file.as_str(), format!("present ({} bytes)", bytes.len()))
            }
            Ok(_) => Finding::fail(CHECK, file.as_str(), "present but empty"),
            Err(e) => Finding::fail(CHECK, file.as_str(), format!("missing at the repository root: {e}")),
        };
        findings.push(finding.with(Evidence::file(file.as_str())));
        for dir in &policy.copies {
            let copy = dir.join(file);
            let finding = match (fs::read(&path), fs::read(repo.path(&copy))) {
                (_, Err(e)) => Finding::fail(CHECK, copy.as_str(), format!("copy of {file} is missing: {e}")),
                (Ok(a), Ok(b)) if a == b => Finding::pass(CHECK, copy.as_str(), format!("identical to {file}")),
                (Ok(_), Ok(_)) => Finding::fail(
                    CHECK,
                    copy.as_str(),
                    format!("differs from {file}: copy it again (cp {file} {copy})"),
                ),
                (Err(_), Ok(_)) => continue,
            };
            findings.push(finding.with(Evidence::file(copy.as_str())));
        }
    }
    findings
}

/// Collects the archives under `dir`, `depth` folder levels deep (1: the folder itself), with
/// the extension `only` when given (without the dot: `tgz`).
fn walk(dir: &Utf8Path, only: Option<&str>, depth: usize, found: &mut Vec<Utf8PathBuf>) -> anyhow::Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {dir}"))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {dir}"))?;
        let Ok(path) = Utf8PathBuf::from_path_buf(entry.path()) else { continue };
        let name = path.file_name().unwrap_or_default();
        let ty = entry.file_type().with_context(|| format!("cannot stat {path}"))?;
        if ty.is_dir() {
            if depth > 1 && name != "node_modules" && !name.starts_with('.') {
                walk(&path, only, depth - 1, found)?;
            }
        } else if match only {
            Some(ext) => name.strip_suffix(ext).is_some_and(|stem| stem.ends_with('.')),
            None => is_artifact(name),
        } {
            found.push(path);
        }
    }
    Ok(())
}

/// The archives to check: in `paths` (files taken as they are, folders searched three levels
/// deep), or in the policy's `search` folders when `paths` is empty. Relative paths are
/// relative to the root.
pub fn find_artifacts(repo: &Repo, search: &[NoticeSearch], paths: &[Utf8PathBuf]) -> anyhow::Result<Vec<Utf8PathBuf>> {
    let mut found = Vec::new();
    if paths.is_empty() {
        for s in search {
            let dir = repo.path(&s.dir);
            if dir.is_dir() {
                walk(&dir, s.extension.as_deref(), s.depth, &mut found)?;
            }
        }
    }
    for p in paths {
        let p = if p.is_absolute() { p.clone() } else { repo.path(p) };
        if p.is_dir() {
            walk(&p, None, 3, &mut found)?;
        } else if p.is_file() {
            found.push(p);
        } else {
            bail!("{p} does not exist");
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The whole check: repository files and copies, then every archive found. No archive at all
/// is incomplete; a failed repository-level check fails whatever else happened (bug 34).
pub fn check(repo: &Repo, policy: &NoticesPolicy, paths: &[Utf8PathBuf]) -> anyhow::Result<Report> {
    let mut findings = check_repo(repo, policy);
    let artifacts = find_artifacts(repo, &policy.search, paths)?;
    let files: Vec<String> = policy.files.iter().map(|f| f.to_string()).collect();
    if artifacts.is_empty() {
        let looked: Vec<String> = if paths.is_empty() {
            policy.search.iter().map(|s| format!("{}/", s.dir)).collect()
        } else {
            paths.iter().map(|p| p.to_string()).collect()
        };
        findings.push(Finding::incomplete(
            CHECK,
            "release archives",
            format!(
                "no archive (.tar.gz, .tgz, .whl, .crate) found in {}: build or download the release artifacts first, or pass their paths",
                looked.join(", ")
            ),
        ));
    }
    for path in &artifacts {
        let shown = path.strip_prefix(repo.root()).map_or_else(|_| path.to_string(), |p| p.to_string());
        if !is_artifact(path.file_name().unwrap_or_default()) {
            findings.push(Finding::incomplete(
                CHECK,
                shown,
                "not an archive kind this check reads (.tar.gz, .tgz, .whl, .crate)",
            ));
            continue;
        }
        findings.push(check_archive(path, &shown, &files));
    }
    Ok(Report::new("notices", None, findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(list: &[&str]) -> Vec<String> {
        list.iter().filter_map(|s| normalize_member(s)).collect()
    }

    const FILES: [&str; 2] = ["LICENSE", "THIRD_PARTY_NOTICES.md"];

    fn files() -> Vec<String> {
        FILES.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn members_are_normalized() {
        assert_eq!(m(&["./", "./bin/", "./LICENSE", "a/b", "././c"]), ["LICENSE", "a/b", "c"]);
    }

    #[test]
    fn kinds_from_names_and_layout() {
        let sdist = m(&["plasmite-0.8.0/PKG-INFO", "plasmite-0.8.0/LICENSE"]);
        assert_eq!(kind_of("plasmite-0.8.0.tar.gz", &sdist).unwrap(), Kind::Sdist { prefix: "plasmite-0.8.0".into() });
        let sdk = m(&["./bin/plasmite", "./LICENSE"]);
        assert_eq!(kind_of("plasmite_0.8.0_linux-x64.tar.gz", &sdk).unwrap(), Kind::Sdk);
        assert_eq!(
            kind_of("plasmite-0.9.0rc1-cp311-cp311-linux_x86_64.whl", &[]).unwrap(),
            Kind::Wheel { name_version: "plasmite-0.9.0rc1".into() }
        );
        assert_eq!(kind_of("plasmite-0.8.0.tgz", &[]).unwrap(), Kind::Npm);
        assert_eq!(kind_of("plasmite-0.8.0.crate", &[]).unwrap(), Kind::Crate { prefix: "plasmite-0.8.0".into() });
        assert!(kind_of("plasmite.zip", &[]).is_err());
        assert!(kind_of("x.whl", &[]).is_err());
    }

    #[test]
    fn member_paths_are_exact() {
        // (kind, members, missing files)
        let sdist = Kind::Sdist { prefix: "p-1".into() };
        let wheel = Kind::Wheel { name_version: "p-1".into() };
        let table: Vec<(Kind, Vec<String>, Vec<&str>)> = vec![
            (Kind::Sdk, m(&["./LICENSE", "./THIRD_PARTY_NOTICES.md"]), vec![]),
            (Kind::Sdk, m(&["LICENSE", "THIRD_PARTY_NOTICES.md"]), vec![]),
            // Bug 34: a vendored licence somewhere else does not count.
            (Kind::Sdk, m(&["./vendor/x/LICENSE", "./THIRD_PARTY_NOTICES.md"]), vec!["LICENSE"]),
            (sdist.clone(), m(&["p-1/LICENSE", "p-1/THIRD_PARTY_NOTICES.md"]), vec![]),
            (sdist, m(&["p-1/vendor/LICENSE", "p-1/THIRD_PARTY_NOTICES.md"]), vec!["LICENSE"]),
            (wheel.clone(), m(&["p-1.dist-info/licenses/LICENSE", "p-1.dist-info/THIRD_PARTY_NOTICES.md"]), vec![]),
            (
                wheel,
                m(&["p-1.data/purelib/p/LICENSE", "x/THIRD_PARTY_NOTICES.md"]),
                vec!["LICENSE", "THIRD_PARTY_NOTICES.md"],
            ),
            (Kind::Npm, m(&["package/LICENSE", "package/THIRD_PARTY_NOTICES.md"]), vec![]),
            (Kind::Npm, m(&["package/node_modules/x/LICENSE"]), vec!["LICENSE", "THIRD_PARTY_NOTICES.md"]),
            (Kind::Crate { prefix: "p-1".into() }, m(&["p-1/LICENSE"]), vec!["THIRD_PARTY_NOTICES.md"]),
        ];
        for (kind, members, want) in table {
            let got: Vec<String> = missing(&kind, &members, &files()).into_iter().map(|(f, _, _)| f).collect();
            assert_eq!(got, want, "{kind:?} {members:?}");
        }
    }

    #[test]
    fn a_corrupt_archive_is_a_failure_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["x-1.tar.gz", "x-1-py3-none-any.whl", "x-1.tgz"] {
            let path = Utf8PathBuf::from_path_buf(dir.path().join(name)).unwrap();
            fs::write(&path, b"\x1f\x8bnot really gzip").unwrap();
            let f = check_archive(&path, name, &files());
            assert_eq!(f.outcome, crate::report::Outcome::Fail, "{name}");
            assert!(f.detail.contains("cannot read"), "{}", f.detail);
        }
    }
}
