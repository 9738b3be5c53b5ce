//! Where a smoke run works and what it keeps: the installs in a temp dir outside the
//! repository, the logs beside the evidence record, and with `--keep-scratch` a copy of both.

use std::fs;

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::{clock::Clock, env::Env, repo::Repo, target::ReleaseTarget};

/// Copies the tree `from` into `to` (merging with what is there): files with their
/// permissions, symlinks as symlinks (a link to an installed package stays a link).
pub(crate) fn copy_tree(from: &Utf8Path, to: &Utf8Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {to}"))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot list {from}"))? {
        let entry = entry.with_context(|| format!("cannot list {from}"))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let (src, dest) = (from.join(name), to.join(name));
        let kind = entry.file_type().with_context(|| format!("cannot stat {src}"))?;
        if kind.is_symlink() {
            let link = fs::read_link(&src).with_context(|| format!("cannot read the link {src}"))?;
            let _ = fs::remove_file(&dest);
            std::os::unix::fs::symlink(&link, &dest).with_context(|| format!("cannot link {dest}"))?;
        } else if kind.is_dir() {
            copy_tree(&src, &dest)?;
        } else if kind.is_file() {
            fs::copy(&src, &dest).with_context(|| format!("cannot copy {src} to {dest}"))?;
        }
    }
    Ok(())
}

/// `smoke-<tag>-<YYYYmmdd-HHMMSS>`: `2026-07-28T09:15:00Z` -> `20260728-091500`.
pub(crate) fn run_name(target: &ReleaseTarget, clock: &Clock) -> String {
    let stamp: String = clock.timestamp().chars().filter(|c| c.is_ascii_digit() || *c == 'T').collect();
    format!("smoke-{}-{}", target.tag(), stamp.replace('T', "-"))
}

/// A new folder `parent/name` (`name-2`, ... when taken).
pub(crate) fn create_unique(parent: &Utf8Path, name: &str) -> anyhow::Result<Utf8PathBuf> {
    fs::create_dir_all(parent).with_context(|| format!("cannot create {parent}"))?;
    for n in 1..100 {
        let dir = if n == 1 { parent.join(name) } else { parent.join(format!("{name}-{n}")) };
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {dir}")),
        }
    }
    bail!("too many folders named {name} in {parent}")
}

/// The temp dir the installs run in: under `TMPDIR` (else `/tmp`), which must be outside the
/// repository, or the repository's own configuration would decide the installs again.
pub(crate) fn work_dir(repo: &Repo, env: &Env) -> anyhow::Result<tempfile::TempDir> {
    let tmp = Utf8PathBuf::from(env.get("TMPDIR").filter(|t| !t.is_empty()).unwrap_or("/tmp"));
    let real = tmp.canonicalize_utf8().with_context(|| format!("the temp dir {tmp} (TMPDIR) is not usable"))?;
    let root = repo.root().canonicalize_utf8().unwrap_or_else(|_| repo.root().to_owned());
    if real.starts_with(&root) {
        bail!(
            "the temp dir {tmp} (TMPDIR) is inside the repository; smoke installs outside it, as a user would: \
             set TMPDIR to a folder elsewhere"
        );
    }
    tempfile::Builder::new()
        .prefix("release-smoke-")
        .tempdir_in(&real)
        .with_context(|| format!("cannot create a temp dir in {tmp}"))
}
