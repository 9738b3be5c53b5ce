//! What must be inside a release archive besides the notices: the policy's
//! `[artifacts.<kind>]` members (the old runbook's SDK contents: binaries, header, libraries,
//! pkg-config file) and, for an SDK archive cargo-binstall installs from, every binary the crate
//! declares (bug 43). The archive is read once, by the notices check; this module judges the
//! entries it read.

use std::collections::BTreeSet;

use crate::{manifest::Os, policy::ArtifactMembers, repo::Repo};

/// What an archive entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link to this target, as written.
    Symlink(String),
    /// A tar hard link to this member path, as written.
    HardLink(String),
    /// Anything else (a device, a FIFO).
    Other,
}

/// The members `spec` requires of an archive of operating system `os`; `Err` naming the lists
/// when some depend on the OS and the archive's name carries none.
pub fn required(spec: &ArtifactMembers, os: Option<Os>) -> Result<Vec<String>, String> {
    let mut out = spec.members.clone();
    match os {
        Some(Os::Linux) => out.extend(spec.linux.iter().cloned()),
        Some(Os::Darwin) => out.extend(spec.darwin.iter().cloned()),
        Some(Os::Windows) => out.extend(spec.windows.iter().cloned()),
        None if spec.per_os() => {
            return Err(
                "its file name carries no platform, so the per-OS members (linux, darwin, windows) cannot be chosen"
                    .into(),
            );
        }
        None => {}
    }
    Ok(out)
}

/// Why `path` (a member path inside the archive, its layout's prefix included) does not stand
/// as a regular file among `entries`, or `None` when it does. A symbolic or hard link counts
/// when it leads, inside the archive, to a regular file; one that leads outside the archive
/// (absolute, or up through `..`) or nowhere does not, nor does a directory.
pub fn problem(entries: &[(&str, &EntryKind)], path: &str) -> Option<String> {
    let mut at = path.to_string();
    for _ in 0..8 {
        let Some((_, kind)) = entries.iter().find(|(name, _)| *name == at) else {
            return Some(if at == path {
                format!("no {path}")
            } else {
                format!("{path} is a link to {at}, which is not in the archive")
            });
        };
        match kind {
            EntryKind::File => return None,
            EntryKind::Dir => return Some(format!("{path} is a directory, a file is required")),
            EntryKind::Other => return Some(format!("{path} is not a regular file")),
            EntryKind::Symlink(target) => {
                let dir = at.rsplit_once('/').map_or("", |(dir, _)| dir);
                match inside(dir, target) {
                    Some(next) => at = next,
                    None => return Some(format!("{path} is a symlink to {target}, outside the archive")),
                }
            }
            EntryKind::HardLink(target) => match inside("", target) {
                Some(next) => at = next,
                None => return Some(format!("{path} is a hard link to {target}, outside the archive")),
            },
        }
    }
    Some(format!("{path} is a chain of links more than 8 long"))
}

/// `target` resolved from folder `dir` inside the archive, or `None` when it leaves the archive.
fn inside(dir: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// A binary the crate declares, and why it is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredBin {
    /// The binary's name.
    pub name: String,
    /// `[[bin]] in Cargo.toml`, or the auto-discovered source file.
    pub from: String,
}

/// The crate's binaries that cargo-binstall requires in an archive: every explicit `[[bin]]`
/// without `required-features`, plus those cargo discovers (`src/main.rs` named after the
/// package, `src/bin/<name>.rs`, `src/bin/<name>/main.rs`) unless `autobins = false` (or the
/// source file is an explicit `[[bin]]`'s). `None` without a root `Cargo.toml` with `[package]`.
pub fn declared_bins(repo: &Repo) -> anyhow::Result<Option<(toml::Table, Vec<DeclaredBin>)>> {
    let Some(doc) = repo.root_manifest()? else { return Ok(None) };
    let Some(package) = doc.get("package").and_then(|p| p.as_table()) else { return Ok(None) };
    let package_name = package.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
    let mut bins = Vec::new();
    let mut explicit_paths = BTreeSet::new();
    let mut names = BTreeSet::new();
    for bin in doc.get("bin").and_then(|b| b.as_array()).into_iter().flatten() {
        let Some(name) = bin.get("name").and_then(|n| n.as_str()) else { continue };
        let path =
            bin.get("path").and_then(|p| p.as_str()).map(str::to_string).unwrap_or_else(|| {
                if name == package_name { "src/main.rs".into() } else { format!("src/bin/{name}.rs") }
            });
        explicit_paths.insert(path);
        names.insert(name.to_string());
        let optional = bin.get("required-features").and_then(|f| f.as_array()).is_some_and(|f| !f.is_empty());
        if !optional {
            bins.push(DeclaredBin { name: name.into(), from: "[[bin]] in Cargo.toml".into() });
        }
    }
    if package.get("autobins").and_then(|a| a.as_bool()) != Some(false) {
        let mut auto = Vec::new();
        if repo.path("src/main.rs").is_file() {
            auto.push((package_name.clone(), "src/main.rs".to_string()));
        }
        if let Ok(dir) = std::fs::read_dir(repo.path("src/bin")) {
            let mut found: Vec<(String, String)> = Vec::new();
            for entry in dir.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                if let Some(stem) = file.strip_suffix(".rs") {
                    found.push((stem.into(), format!("src/bin/{file}")));
                } else if entry.path().join("main.rs").is_file() {
                    found.push((file.clone(), format!("src/bin/{file}/main.rs")));
                }
            }
            found.sort();
            auto.extend(found);
        }
        for (name, path) in auto {
            if !explicit_paths.contains(&path) && names.insert(name.clone()) {
                bins.push(DeclaredBin { name, from: format!("auto-discovered {path}") });
            }
        }
    }
    Ok(Some((doc, bins)))
}

/// Where cargo-binstall looks for binary `bin` in an archive for `target` (a Rust triple):
/// `bin-dir` of `[package.metadata.binstall]` (a per-target override first), else
/// binstall's default `{ name }-{ target }-v{ version }/{ bin }{ binary-ext }`.
pub fn binstall_path(cargo_toml: &toml::Table, target: &str, version: &str, bin: &str) -> String {
    let package = cargo_toml.get("package");
    let name = package.and_then(|p| p.get("name")).and_then(|n| n.as_str()).unwrap_or_default();
    let binstall = package.and_then(|p| p.get("metadata")).and_then(|m| m.get("binstall"));
    let bin_dir = binstall
        .and_then(|b| b.get("overrides"))
        .and_then(|o| o.get(target))
        .and_then(|o| o.get("bin-dir"))
        .or_else(|| binstall.and_then(|b| b.get("bin-dir")))
        .and_then(|d| d.as_str())
        .unwrap_or("{ name }-{ target }-v{ version }/{ bin }{ binary-ext }");
    let ext = if target.contains("windows") { ".exe" } else { "" };
    let mut out = bin_dir.to_string();
    for (key, value) in [("name", name), ("target", target), ("version", version), ("bin", bin), ("binary-ext", ext)] {
        out = out.replace(&format!("{{ {key} }}"), value).replace(&format!("{{{key}}}"), value);
    }
    out.trim_start_matches("./").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_count_only_when_they_lead_to_a_file_inside() {
        let entries = [
            ("lib", EntryKind::Dir),
            ("lib/libx.so.1", EntryKind::File),
            ("lib/libx.so", EntryKind::Symlink("libx.so.1".into())),
            ("lib/escape.so", EntryKind::Symlink("../../etc/passwd".into())),
            ("lib/abs.so", EntryKind::Symlink("/usr/lib/libx.so".into())),
            ("lib/gone.so", EntryKind::Symlink("missing.so".into())),
            ("bin/x", EntryKind::HardLink("lib/libx.so.1".into())),
            ("include", EntryKind::Dir),
        ];
        let entries: Vec<(&str, &EntryKind)> = entries.iter().map(|(n, k)| (*n, k)).collect();
        assert_eq!(problem(&entries, "lib/libx.so"), None);
        assert_eq!(problem(&entries, "bin/x"), None);
        assert!(problem(&entries, "lib/escape.so").unwrap().contains("outside the archive"));
        assert!(problem(&entries, "lib/abs.so").unwrap().contains("outside the archive"));
        assert!(problem(&entries, "lib/gone.so").unwrap().contains("lib/missing.so, which is not in the archive"));
        assert!(problem(&entries, "include").unwrap().contains("a directory, a file is required"));
        assert_eq!(problem(&entries, "include/x.h").unwrap(), "no include/x.h");
    }

    #[test]
    fn per_os_members_need_a_platform() {
        let spec = ArtifactMembers {
            members: vec!["bin/x".into()],
            linux: vec!["lib/libx.so".into()],
            darwin: vec!["lib/libx.dylib".into()],
            windows: Vec::new(),
        };
        assert_eq!(required(&spec, Some(Os::Linux)).unwrap(), ["bin/x", "lib/libx.so"]);
        assert_eq!(required(&spec, Some(Os::Windows)).unwrap(), ["bin/x"]);
        assert!(required(&spec, None).is_err());
    }

    #[test]
    fn binstall_paths_follow_bin_dir() {
        let toml: toml::Table = toml::from_str(
            "[package]\nname = \"p\"\n[package.metadata.binstall]\nbin-dir = \"bin/{ bin }{ binary-ext }\"\n\
             [package.metadata.binstall.overrides.x86_64-pc-windows-msvc]\nbin-dir = \"{bin}{binary-ext}\"\n",
        )
        .unwrap();
        assert_eq!(binstall_path(&toml, "x86_64-unknown-linux-gnu", "1.0.0", "pls"), "bin/pls");
        assert_eq!(binstall_path(&toml, "x86_64-pc-windows-msvc", "1.0.0", "pls"), "pls.exe");
        let bare: toml::Table = toml::from_str("[package]\nname = \"p\"\n").unwrap();
        assert_eq!(binstall_path(&bare, "aarch64-apple-darwin", "1.0.0", "p"), "p-aarch64-apple-darwin-v1.0.0/p");
    }
}
