//! Licence and notice files: at the repository root, in the policy's copies, and inside every
//! release archive at the exact path its format puts them (facts §12; docs/notices.md).
//!
//! Archives are read in-process (`flate2` + `tar`, `zip`): no `tar`/`python` subprocess, no
//! pipe that can close early (bug 34). A member counts only at its exact path: a vendored
//! `vendor/x/LICENSE` never stands in for the package's own `LICENSE` (bug 34).

use std::{fs, io::Read};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};

pub use crate::members::EntryKind;
use crate::{
    manifest::{Manifest, Os, Platform},
    members::{self, DeclaredBin},
    policy::{ArtifactMembers, ArtifactsPolicy, NoticeSearch, NoticesPolicy},
    repo::Repo,
    report::CheckId,
    report::Evidence,
    report::Finding,
    report::Report,
    target::ReleaseTarget,
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

/// A member of an archive, read through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The normalized path (a directory's without its trailing `/`).
    pub name: String,
    /// Why it cannot stand as a notice (a directory, a link, empty), or `None` for a regular
    /// file whose non-empty content was read and verified (tar data to the gzip trailer, zip
    /// CRC).
    pub refused: Option<String>,
    /// What the entry is.
    pub entry: EntryKind,
}

/// The file members of an archive (normalized, directories left out), read in-process: every
/// byte is read, so a corrupt member (a zip CRC error, a cut tar or gzip stream) makes the
/// whole archive unreadable, never a short list.
pub fn members(path: &Utf8Path) -> anyhow::Result<Vec<Member>> {
    let file = fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let mut out: Vec<(String, Option<String>, EntryKind)> = Vec::new();
    if path.as_str().ends_with(".whl") {
        let mut headers = fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
        let mut zip = zip::ZipArchive::new(file).with_context(|| format!("{path} is not a readable zip archive"))?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).with_context(|| format!("{path}: unreadable member {i}"))?;
            if entry.is_dir() {
                let name = entry.name().with_context(|| format!("{path}: unreadable member name"))?.into_owned();
                out.push((name.trim_end_matches('/').to_string(), Some("a directory".into()), EntryKind::Dir));
                continue;
            }
            let name = entry.name().with_context(|| format!("{path}: unreadable member name"))?.into_owned();
            // Installers differ in which they trust: the central directory or the local header.
            // When the two name different files, the member is not one thing.
            let local = local_header_name(&mut headers, entry.header_start())
                .with_context(|| format!("{path}: cannot read the local header of {name}"))?;
            if local != name.as_bytes() {
                bail!(
                    "{path}: the central directory lists {name} where the local header says {}",
                    String::from_utf8_lossy(&local)
                );
            }
            let link = entry.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000);
            let mut data = Vec::new();
            // Reading to the end checks the CRC-32 against the central directory.
            entry.read_to_end(&mut data).with_context(|| format!("{path}: corrupt member {name}"))?;
            let target = String::from_utf8_lossy(&data).into_owned();
            let refused = if link {
                Some(format!("a symlink to {target}"))
            } else if data.iter().all(u8::is_ascii_whitespace) {
                Some("empty".to_string())
            } else {
                None
            };
            out.push((name, refused, if link { EntryKind::Symlink(target) } else { EntryKind::File }));
        }
    } else {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for entry in archive.entries().with_context(|| format!("{path} is not a readable .tar.gz"))? {
            let mut entry = entry.with_context(|| format!("{path}: corrupt tar entry"))?;
            let kind = entry.header().entry_type();
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if kind.is_dir() {
                out.push((name.trim_end_matches('/').to_string(), Some("a directory".into()), EntryKind::Dir));
                continue;
            }
            let target =
                || entry.link_name_bytes().map_or_else(String::new, |t| String::from_utf8_lossy(&t).into_owned());
            let (refused, what) = if kind.is_symlink() {
                (Some(format!("a symlink to {}", target())), EntryKind::Symlink(target()))
            } else if kind.is_hard_link() {
                (Some(format!("a hard link to {}", target())), EntryKind::HardLink(target()))
            } else if !kind.is_file() {
                (Some(format!("not a regular file ({kind:?})")), EntryKind::Other)
            } else {
                (None, EntryKind::File)
            };
            let mut data = Vec::new();
            // Read every byte: a truncated or corrupt archive is an error, never a short list.
            entry.read_to_end(&mut data).with_context(|| format!("{path}: corrupt member data"))?;
            let refused = refused.or_else(|| data.iter().all(u8::is_ascii_whitespace).then(|| "empty".to_string()));
            out.push((name, refused, what));
        }
        let mut rest = archive.into_inner();
        let mut trailing = Vec::new();
        // The decoder checks the gzip trailer (CRC and length) when it reaches the end.
        rest.read_to_end(&mut trailing).with_context(|| format!("{path}: corrupt gzip stream"))?;
    }
    Ok(out
        .into_iter()
        .filter_map(|(n, refused, entry)| Some(Member { name: normalize_member(&n)?, refused, entry }))
        .collect())
}

/// The file name in the zip local file header at `offset` (signature `PK\x03\x04`, name length
/// at byte 26, name from byte 30).
fn local_header_name(file: &mut fs::File, offset: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let mut fixed = [0u8; 30];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut fixed)?;
    if fixed[..4] != *b"PK\x03\x04" {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "no local file header there"));
    }
    let mut name = vec![0u8; usize::from(u16::from_le_bytes([fixed[26], fixed[27]]))];
    file.read_exact(&mut name)?;
    Ok(name)
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

#[cfg(test)]
/// Checks one archive's notices; never panics and never errors: an unreadable archive is a
/// failure naming the file.
pub fn check_archive(path: &Utf8Path, shown: &str, files: &[String]) -> Finding {
    match read_archive(path) {
        Ok((kind, all)) => notices_finding(&kind, &all, shown, files),
        Err(e) => Finding::fail(CHECK, shown, format!("cannot read the archive: {e:#}")).with(Evidence::file(shown)),
    }
}

/// An archive's kind and members, read once for every check of it.
fn read_archive(path: &Utf8Path) -> anyhow::Result<(Kind, Vec<Member>)> {
    let name = path.file_name().unwrap_or(path.as_str());
    let all = members(path)?;
    let names: Vec<String> = all.iter().map(|m| m.name.clone()).collect();
    Ok((kind_of(name, &names)?, all))
}

/// The notices finding of an archive already read.
fn notices_finding(kind: &Kind, all: &[Member], shown: &str, files: &[String]) -> Finding {
    let kind = kind.clone();
    // Only regular files with content count; a link or an empty file at the right path is
    // named in the gap so the reader sees why it did not count.
    let members: Vec<String> = all.iter().filter(|m| m.refused.is_none()).map(|m| m.name.clone()).collect();
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
            for m in all.iter().filter(|m| accepted.contains(&m.name)) {
                if let Some(why) = &m.refused {
                    s.push_str(&format!(" ({} is {why}: not read as a notice)", m.name));
                }
            }
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

/// The release version an archive's file name carries, exactly as written, and the form a name
/// of `target` takes there: PEP 440 (`0.9.0rc1`) for wheels and sdists (`name-X.Y.Z-...whl`,
/// `name-X.Y.Z.tar.gz`), semver (`0.9.0-rc.1`) for npm (`name-X.Y.Z.tgz`), crates
/// (`name-X.Y.Z.crate`) and SDK archives (`name_X.Y.Z_platform.tar.gz`). `None` when the name
/// carries no version that parses as a whole token: a version is compared token to token, never
/// found as a substring (`10.8.0` is not `0.8.0`: facts bug 31).
pub fn archive_version(file_name: &str, target: &ReleaseTarget) -> Option<(String, String)> {
    let (stem, ext) = split_name(file_name)?;
    let readable = |v: &str| v.starts_with(|c: char| c.is_ascii_digit()) && ReleaseTarget::parse_any(v).is_ok();
    // `name-<version>` where the version runs to the end: the first `-` whose rest parses (a
    // name may hold dashes, and so may a semver pre-release: `plasmite-0.9.0-rc.1`).
    let dashed = || stem.match_indices('-').map(|(i, _)| &stem[i + 1..]).find(|v| readable(v));
    match ext {
        ".whl" => {
            // Wheel names escape `-` inside the name and version as `_`: the version is field 2.
            let version = stem.split('-').nth(1).filter(|v| readable(v))?;
            Some((version.to_string(), target.pep440().to_string()))
        }
        ".tgz" | ".crate" => Some((dashed()?.to_string(), target.version())),
        _ => match dashed() {
            Some(version) => Some((version.to_string(), target.pep440().to_string())),
            None => {
                // SDK: `name_<version>_<platform>`; exactly one field after the name must parse.
                let mut found = stem.split('_').skip(1).filter(|v| readable(v));
                let version = found.next()?;
                found.next().is_none().then(|| (version.to_string(), target.version()))
            }
        },
    }
}

/// What else must be inside the archives, besides the notices: the policy's
/// `[artifacts.<kind>]` members, and (with a targets manifest) the crate's binaries in every SDK
/// archive cargo-binstall installs from.
#[derive(Debug, Clone, Copy)]
pub struct Inside<'a> {
    /// `[artifacts.<kind>]`.
    pub artifacts: &'a ArtifactsPolicy,
    /// The targets manifest, when the policy names one.
    pub manifest: Option<&'a Manifest>,
}

/// The check id of the members findings.
pub const MEMBERS: CheckId = CheckId::NOTICES_MEMBERS;
/// The check id of the cargo-binstall findings.
pub const BINSTALL: CheckId = CheckId::NOTICES_BINSTALL;

/// Where a member path of the policy sits in an archive of `kind`.
fn member_path(kind: &Kind, member: &str) -> String {
    match kind {
        Kind::Sdk | Kind::Wheel { .. } => member.to_string(),
        Kind::Sdist { prefix } | Kind::Crate { prefix } => format!("{prefix}/{member}"),
        Kind::Npm => format!("package/{member}"),
    }
}

/// The operating system an archive's file name carries: an SDK archive's platform suffix
/// (`_linux_amd64`), a wheel's platform tag.
fn os_of(kind: &Kind, file_name: &str) -> Option<Os> {
    let stem = file_name.strip_suffix(".tar.gz").or_else(|| file_name.strip_suffix(".whl"))?;
    match kind {
        // The manifest's SDK name (`_linux_amd64`), or npm's (`_linux-x64`) some builds use.
        Kind::Sdk => Platform::ALL
            .into_iter()
            .find(|p| stem.ends_with(&format!("_{}", p.sdk_name())) || stem.ends_with(&format!("_{}", p.node_name())))
            .map(|p| p.os),
        Kind::Wheel { .. } => {
            let tag = stem.rsplit('-').next()?;
            let oses: Vec<Os> = Platform::ALL.into_iter().filter(|p| p.served_by_wheel(tag)).map(|p| p.os).collect();
            oses.first().copied().filter(|os| oses.iter().all(|o| o == os))
        }
        _ => None,
    }
}

/// The members finding of an archive: every member `[artifacts.<kind>]` lists is there as a
/// regular file (or a link to one inside the archive). `None` when the policy lists none.
fn members_finding(
    kind: &Kind,
    all: &[Member],
    file_name: &str,
    shown: &str,
    artifacts: &ArtifactsPolicy,
) -> Option<Finding> {
    let (key, spec): (&str, &Option<ArtifactMembers>) = match kind {
        Kind::Sdk => ("sdk", &artifacts.sdk),
        Kind::Sdist { .. } => ("sdist", &artifacts.sdist),
        Kind::Wheel { .. } => ("wheel", &artifacts.wheel),
        Kind::Npm => ("npm", &artifacts.npm),
        Kind::Crate { .. } => ("crate", &artifacts.crate_file),
    };
    let spec = spec.as_ref()?;
    let os = os_of(kind, file_name);
    let wanted = match members::required(spec, os) {
        Ok(wanted) => wanted,
        Err(why) => {
            return Some(
                Finding::incomplete(MEMBERS, shown, format!("[artifacts.{key}]: {why}")).with(Evidence::file(shown)),
            );
        }
    };
    let entries: Vec<(&str, &EntryKind)> = all.iter().map(|m| (m.name.as_str(), &m.entry)).collect();
    let paths: Vec<String> = wanted.iter().map(|m| member_path(kind, m)).collect();
    let problems: Vec<String> = paths.iter().filter_map(|p| members::problem(&entries, p)).collect();
    let finding = if problems.is_empty() {
        Finding::pass(
            MEMBERS,
            shown,
            format!("{}: has every [artifacts.{key}] member: {}", kind.describe(), paths.join(", ")),
        )
    } else {
        Finding::fail(MEMBERS, shown, format!("{}: {}", kind.describe(), problems.join("; ")))
    };
    Some(finding.with(Evidence::file(shown)))
}

/// The cargo-binstall finding of an SDK archive whose platform is in the manifest's
/// `cargo_binstall` channel (any tier): every binary the crate declares is at the path binstall
/// looks for it (bug 43: a missing one makes binstall fall back to building from source). A
/// `Fail` whatever the tier: the crate's `[package.metadata.binstall]` sends users to this
/// archive, and a preview channel is still published. `None` for other archives.
#[allow(clippy::too_many_arguments)]
fn binstall_finding(
    kind: &Kind,
    all: &[Member],
    file_name: &str,
    shown: &str,
    manifest: &Manifest,
    cargo_toml: &toml::Table,
    bins: &[DeclaredBin],
    target: &ReleaseTarget,
) -> Option<Finding> {
    // A crate without binaries has nothing for cargo-binstall to install.
    if *kind != Kind::Sdk || bins.is_empty() {
        return None;
    }
    let stem = file_name.strip_suffix(".tar.gz")?;
    let t = manifest.targets.iter().find(|t| stem.ends_with(&format!("_{}", t.sdk_platform)))?;
    let tier = t.tier(crate::manifest::Channel::CargoBinstall)?;
    let tier = if tier == crate::manifest::Tier::Official { "official" } else { "preview" };
    let entries: Vec<(&str, &EntryKind)> = all.iter().map(|m| (m.name.as_str(), &m.entry)).collect();
    let version = target.version();
    let missing: Vec<String> = bins
        .iter()
        .filter_map(|bin| {
            let at = members::binstall_path(cargo_toml, &t.rust_target, &version, &bin.name);
            members::problem(&entries, &at).map(|why| format!("{why} (binary `{}`, {})", bin.name, bin.from))
        })
        .collect();
    let names: Vec<&str> = bins.iter().map(|b| b.name.as_str()).collect();
    let finding = if missing.is_empty() {
        Finding::pass(
            BINSTALL,
            shown,
            format!(
                "cargo_binstall ({tier}) for {}: has every binary the crate declares ({})",
                t.rust_target,
                names.join(", ")
            ),
        )
    } else {
        Finding::fail(
            BINSTALL,
            shown,
            format!(
                "cargo_binstall ({tier}) for {}: cargo-binstall needs every binary the crate declares ({}) and falls back to building from source without one: {}. Ship it in the archive, give its [[bin]] `required-features`, set `autobins = false`, or take the target out of cargo_binstall",
                t.rust_target,
                names.join(", "),
                missing.join("; ")
            ),
        )
    };
    Some(finding.with(Evidence::file(shown)))
}

/// The whole check: repository files and copies, then every archive found whose file name
/// carries `target`. An archive of another version is reported and left out; one whose name
/// carries no readable version is incomplete. No archive of `target` at all is incomplete; a
/// failed repository-level check fails whatever else happened (bug 34).
pub fn check(
    repo: &Repo,
    policy: &NoticesPolicy,
    inside: &Inside<'_>,
    paths: &[Utf8PathBuf],
    target: &ReleaseTarget,
) -> anyhow::Result<Report> {
    let mut findings = check_repo(repo, policy);
    let binstall = match inside.manifest {
        Some(manifest) => members::declared_bins(repo)?.map(|(toml, bins)| (manifest, toml, bins)),
        None => None,
    };
    let artifacts = find_artifacts(repo, &policy.search, paths)?;
    let files: Vec<String> = policy.files.iter().map(|f| f.to_string()).collect();
    let looked: Vec<String> = if paths.is_empty() {
        policy.search.iter().map(|s| format!("{}/", s.dir)).collect()
    } else {
        paths.iter().map(|p| p.to_string()).collect()
    };
    if artifacts.is_empty() {
        findings.push(Finding::incomplete(
            CHECK,
            "release archives",
            format!(
                "no archive (.tar.gz, .tgz, .whl, .crate) found in {}: build or download the release artifacts first, or pass their paths",
                looked.join(", ")
            ),
        ));
    }
    let mut of_target = 0;
    let mut others = Vec::new();
    for path in &artifacts {
        let shown = path.strip_prefix(repo.root()).map_or_else(|_| path.to_string(), |p| p.to_string());
        let name = path.file_name().unwrap_or_default();
        if !is_artifact(name) {
            findings.push(Finding::incomplete(
                CHECK,
                shown,
                "not an archive kind this check reads (.tar.gz, .tgz, .whl, .crate)",
            ));
            continue;
        }
        match archive_version(name, target) {
            None => findings.push(
                Finding::incomplete(
                    CHECK,
                    shown.as_str(),
                    format!(
                        "{name}: no release version can be read from the file name (name-X.Y.Z.tar.gz, name-X.Y.Z-...whl, name-X.Y.Z.tgz, name-X.Y.Z.crate, name_X.Y.Z_platform.tar.gz), so it cannot count for {}",
                        target.tag()
                    ),
                )
                .with(Evidence::file(shown.as_str())),
            ),
            // A stale archive of another release left in the folder must not cover this one.
            Some((carried, wanted)) if carried != wanted => {
                findings.push(
                    Finding::skipped(
                        CHECK,
                        shown.as_str(),
                        format!("not this release's archive (carries {carried}, the release is {wanted})"),
                    )
                    .with(Evidence::file(shown.as_str())),
                );
                others.push(shown);
            }
            Some(_) => {
                of_target += 1;
                match read_archive(path) {
                    Ok((kind, all)) => {
                        findings.push(notices_finding(&kind, &all, &shown, &files));
                        findings.extend(members_finding(&kind, &all, name, &shown, inside.artifacts));
                        if let Some((manifest, toml, bins)) = &binstall {
                            findings.extend(binstall_finding(&kind, &all, name, &shown, manifest, toml, bins, target));
                        }
                    }
                    Err(e) => findings.push(
                        Finding::fail(CHECK, shown.as_str(), format!("cannot read the archive: {e:#}"))
                            .with(Evidence::file(shown.as_str())),
                    ),
                }
            }
        }
    }
    if of_target == 0 && !artifacts.is_empty() {
        let mut detail = format!("no archive of {} found in {}", target.tag(), looked.join(", "));
        if !others.is_empty() {
            detail.push_str(&format!(" (only other releases' archives: {})", others.join(", ")));
        }
        detail.push_str(": build or download this release's artifacts first, or pass their paths");
        findings.push(Finding::incomplete(CHECK, "release archives", detail));
    }
    Ok(Report::new("notices", Some(target.tag()), findings))
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

    /// A `.tar.gz` with a real THIRD_PARTY_NOTICES.md, a binary, and the LICENSE made by `license`.
    fn sdk_with(dir: &Utf8Path, license: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Utf8PathBuf {
        let mut b = tar::Builder::new(Vec::new());
        for (name, body) in [("bin/plasmite", &b"\x7fELF"[..]), ("THIRD_PARTY_NOTICES.md", b"notices")] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, body).unwrap();
        }
        license(&mut b);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &b.into_inner().unwrap()).unwrap();
        let path = dir.join("plasmite_0.8.0_linux_amd64.tar.gz");
        fs::write(&path, gz.finish().unwrap()).unwrap();
        path
    }

    /// Appends the LICENSE member of one hostile case.
    type AddLicence = Box<dyn FnOnce(&mut tar::Builder<Vec<u8>>)>;

    fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_cksum();
        b.append_link(&mut h, "LICENSE", target).unwrap();
    }

    #[test]
    fn a_licence_that_is_a_link_or_empty_does_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let cases: Vec<(&str, AddLicence)> = vec![
            ("a symlink to /etc/passwd", Box::new(|b| link(b, tar::EntryType::Symlink, "/etc/passwd"))),
            ("a hard link to MISSING", Box::new(|b| link(b, tar::EntryType::Link, "MISSING"))),
            (
                "empty",
                Box::new(|b| {
                    let mut h = tar::Header::new_gnu();
                    h.set_size(0);
                    h.set_cksum();
                    b.append_data(&mut h, "LICENSE", &b""[..]).unwrap();
                }),
            ),
        ];
        for (why, license) in cases {
            let path = sdk_with(dir, license);
            let f = check_archive(&path, "dist/x.tar.gz", &files());
            assert_eq!(f.outcome, crate::report::Outcome::Fail, "{why}: {f:?}");
            assert!(f.detail.contains(&format!("LICENSE is {why}: not read as a notice")), "{why}: {}", f.detail);
        }
        let real = sdk_with(dir, |b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(3);
            h.set_cksum();
            b.append_data(&mut h, "LICENSE", &b"MIT"[..]).unwrap();
        });
        assert_eq!(check_archive(&real, "x", &files()).outcome, crate::report::Outcome::Pass);
    }

    fn wheel(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, body) in members {
            z.start_file(*name, stored).unwrap();
            std::io::Write::write_all(&mut z, body).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    #[test]
    fn a_wheel_with_a_crc_error_or_a_lying_central_directory_does_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let path = dir.join("plasmite-0.8.0-py3-none-any.whl");
        let licence = b"MIT License, the real text";
        let members: [(&str, &[u8]); 2] = [
            ("plasmite-0.8.0.dist-info/licenses/LICENSE", licence),
            ("plasmite-0.8.0.dist-info/licenses/THIRD_PARTY_NOTICES.md", b"notices"),
        ];
        let good = wheel(&members);
        fs::write(&path, &good).unwrap();
        assert_eq!(check_archive(&path, "x.whl", &files()).outcome, crate::report::Outcome::Pass);
        // One byte of the stored LICENSE changed: the CRC no longer matches.
        let at = good.windows(licence.len()).position(|w| w == licence).unwrap();
        let mut crc = good.clone();
        crc[at] ^= 0x20;
        fs::write(&path, &crc).unwrap();
        let f = check_archive(&path, "x.whl", &files());
        assert_eq!(f.outcome, crate::report::Outcome::Fail, "{f:?}");
        assert!(f.detail.contains("cannot read the archive"), "{}", f.detail);
        // The local header names another file than the central directory lists.
        let name = b"plasmite-0.8.0.dist-info/licenses/LICENSE";
        let local = good.windows(name.len()).position(|w| w == name).unwrap();
        let mut lying = good.clone();
        lying[local + name.len() - 7] = b'X';
        fs::write(&path, &lying).unwrap();
        let f = check_archive(&path, "x.whl", &files());
        assert_eq!(f.outcome, crate::report::Outcome::Fail, "{f:?}");
    }

    #[test]
    fn the_version_a_file_name_carries_is_read_as_a_whole_token() {
        let t = |s: &str| ReleaseTarget::parse(s).unwrap();
        let v = |name: &str, target: &str| archive_version(name, &t(target));
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        // (file name, target, (carried, the target's form for that kind))
        let table = [
            ("plasmite-0.8.0.tar.gz", "0.8.0", pair("0.8.0", "0.8.0")),
            ("plasmite-0.9.0rc1.tar.gz", "0.9.0-rc.1", pair("0.9.0rc1", "0.9.0rc1")),
            ("plasmite-0.8.0-cp311-cp311-linux_x86_64.whl", "0.8.0", pair("0.8.0", "0.8.0")),
            ("plasmite-0.9.0rc1-py3-none-any.whl", "0.9.0-rc.1", pair("0.9.0rc1", "0.9.0rc1")),
            ("plasmite-0.9.0b2-py3-none-any.whl", "0.9.0-beta.2", pair("0.9.0b2", "0.9.0b2")),
            ("plasmite-0.8.0.tgz", "0.8.0", pair("0.8.0", "0.8.0")),
            ("plasmite-0.9.0-rc.1.tgz", "0.9.0-rc.1", pair("0.9.0-rc.1", "0.9.0-rc.1")),
            ("plasmite-node-0.8.0.tgz", "0.8.0", pair("0.8.0", "0.8.0")),
            ("plasmite-0.8.0.crate", "0.8.0", pair("0.8.0", "0.8.0")),
            ("plasmite-0.9.0-alpha.3.crate", "0.9.0-alpha.3", pair("0.9.0-alpha.3", "0.9.0-alpha.3")),
            ("plasmite_0.8.0_linux-x64.tar.gz", "0.8.0", pair("0.8.0", "0.8.0")),
            ("plasmite_0.8.0_linux_amd64.tar.gz", "0.8.0", pair("0.8.0", "0.8.0")),
            ("plasmite_0.9.0-rc.1_darwin_arm64.tar.gz", "0.9.0-rc.1", pair("0.9.0-rc.1", "0.9.0-rc.1")),
            // Another release: carried as written, never matched as a substring (bug 31).
            ("plasmite-10.8.0.tar.gz", "0.8.0", pair("10.8.0", "0.8.0")),
            ("plasmite_10.8.0_linux_amd64.tar.gz", "0.8.0", pair("10.8.0", "0.8.0")),
            ("plasmite-10.8.0-py3-none-any.whl", "0.8.0", pair("10.8.0", "0.8.0")),
            ("plasmite-0.8.0.tgz", "10.8.0", pair("0.8.0", "10.8.0")),
            ("plasmite-0.7.2.tar.gz", "0.8.0", pair("0.7.2", "0.8.0")),
            ("plasmite-0.9.0.tar.gz", "0.9.0-rc.1", pair("0.9.0", "0.9.0rc1")),
            ("plasmite-0.9.0rc1-py3-none-any.whl", "0.9.0", pair("0.9.0rc1", "0.9.0")),
            // No version that parses as a whole token.
            ("plasmite-0.8.01.tar.gz", "0.8.0", None),
            ("plasmite-0.8.0.1.crate", "0.8.0", None),
            ("plasmite_0.8.0x_linux_amd64.tar.gz", "0.8.0", None),
            ("plasmite.tar.gz", "0.8.0", None),
            ("plasmite-latest.tgz", "0.8.0", None),
            ("plasmite-v0.8.0.tgz", "0.8.0", None),
            ("x.whl", "0.8.0", None),
            ("plasmite-0.8-py3-none-any.whl", "0.8.0", None),
            ("plasmite_0.8.0_0.7.0.tar.gz", "0.8.0", None),
            ("plasmite.zip", "0.8.0", None),
        ];
        for (name, target, want) in table {
            assert_eq!(v(name, target), want, "{name} for {target}");
        }
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
