//! Test support (feature `testing`): [`FixtureRepo`], a real git repository in a temp dir,
//! shaped like plasmite (facts §1-§5) or built up file by file.
//!
//! Git runs with the developer's global and system config ignored, a fixed identity and a
//! fixed date, so fixtures are the same on every machine and never touch anyone's settings.

pub mod fake_registry;
pub(crate) mod plasmite;
pub mod tls;

use std::{collections::BTreeMap, fs};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{Shell, cmd};

pub use fake_registry::{
    Dispatch, FakeRegistry, Fault, Job, PublishedRelease, Service, TokenGrant, WorkflowRun, closed_port_url,
};
pub use plasmite::{PLASMITE_POLICY, plasmite_files, targets_json};
pub use tls::{TEST_CA_PEM, TlsTerminator, write_test_ca};

/// The blocker body's headings, in order, for tests that check a filed body.
pub use crate::blockers::SECTIONS as BLOCKER_SECTIONS;
/// The environment variables whose values are secrets, for tests that plant a canary.
pub use crate::env::{MACHINE_VARS, SECRET_VARS};
/// Digests as the registries publish them, for fixtures that publish artifacts.
pub use crate::registry::{sha256_hex, sri_sha512};
/// How long a question to the remote may take (tests assert commands stay within it).
pub use crate::repo::REMOTE_TIMEOUT;

/// The targets manifest of [`targets_json`], parsed.
pub fn plasmite_manifest() -> crate::manifest::Manifest {
    // invariant: targets_json() is the fixture's own manifest, which the unit tests parse.
    crate::manifest::parse("release/targets.json", &targets_json()).expect("the fixture manifest parses")
}

/// Environment that isolates git from the machine's configuration.
pub const GIT_ENV: [(&str, &str); 9] = [
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Fixture"),
    ("GIT_AUTHOR_EMAIL", "fixture@example.invalid"),
    ("GIT_COMMITTER_NAME", "Fixture"),
    ("GIT_COMMITTER_EMAIL", "fixture@example.invalid"),
    ("GIT_AUTHOR_DATE", "2026-07-28T09:00:00Z"),
    ("GIT_COMMITTER_DATE", "2026-07-28T09:00:00Z"),
    ("GIT_TERMINAL_PROMPT", "0"),
];

/// Builds a [`FixtureRepo`]: files first, then history (tags), then `build`.
#[derive(Debug, Clone, Default)]
pub struct FixtureBuilder {
    files: BTreeMap<String, Vec<u8>>,
    tags: Vec<String>,
    remote: bool,
}

impl FixtureBuilder {
    /// An empty repository.
    pub fn new() -> FixtureBuilder {
        FixtureBuilder::default()
    }

    /// Adds or replaces a file.
    pub fn file(mut self, path: &str, contents: impl AsRef<[u8]>) -> FixtureBuilder {
        self.files.insert(path.to_string(), contents.as_ref().to_vec());
        self
    }

    /// Appends text to a file added earlier (e.g. `FakeRegistry::endpoints_toml()` to
    /// `release/policy.toml`). Panics (test support) when the file is missing.
    pub fn append(mut self, path: &str, text: &str) -> FixtureBuilder {
        let Some(bytes) = self.files.get_mut(path) else { panic!("fixture has no file {path}") };
        bytes.extend_from_slice(text.as_bytes());
        self
    }

    /// Leaves a file out.
    pub fn without(mut self, path: &str) -> FixtureBuilder {
        self.files.remove(path);
        self
    }

    /// Replaces `from` with `to` in a file added earlier. Panics (this is test support) when
    /// the file or the text is missing, so a fixture never silently stays unbroken.
    pub fn replace(mut self, path: &str, from: &str, to: &str) -> FixtureBuilder {
        let Some(bytes) = self.files.get_mut(path) else { panic!("fixture has no file {path}") };
        let text = String::from_utf8_lossy(bytes).into_owned();
        assert!(text.contains(from), "fixture file {path} has no {from:?}");
        *bytes = text.replacen(from, to, 1).into_bytes();
        self
    }

    /// Release tags made before the files' commit, oldest first, each an annotated tag on its
    /// own commit (`v0.7.2`, `v0.8.0-rc.1`...).
    pub fn tags(mut self, tags: &[&str]) -> FixtureBuilder {
        self.tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    /// Also create a bare repository as `origin` and push `main` and the tags to it.
    pub fn with_remote(mut self) -> FixtureBuilder {
        self.remote = true;
        self
    }

    /// Writes the files, makes the history and commits everything on `main`.
    pub fn build(self) -> anyhow::Result<FixtureRepo> {
        let dir = tempfile::Builder::new().prefix("release-core-fixture-").tempdir()?;
        let base = Utf8PathBuf::from_path_buf(dir.path().to_path_buf())
            .map_err(|p| anyhow::anyhow!("temp dir {} is not UTF-8", p.display()))?;
        let root = base.join("repo");
        fs::create_dir_all(&root)?;
        let repo = FixtureRepo { _dir: dir, root, base };
        repo.git(&["init", "-q", "-b", "main"])?;
        for (i, tag) in self.tags.iter().enumerate() {
            repo.write(".history", format!("release {i}: {tag}\n"))?;
            repo.commit(&format!("Release {tag}"))?;
            repo.tag(tag)?;
        }
        for (path, contents) in &self.files {
            repo.write(path, contents)?;
        }
        repo.commit("Current state")?;
        if self.remote {
            repo.add_remote()?;
        }
        Ok(repo)
    }
}

/// A git repository in a temp dir, deleted on drop.
#[derive(Debug)]
pub struct FixtureRepo {
    _dir: tempfile::TempDir,
    base: Utf8PathBuf,
    root: Utf8PathBuf,
}

impl FixtureRepo {
    /// A plasmite-shaped repository at `version` (e.g. `0.8.0`): the six lockstep surfaces
    /// and Cargo.lock, a changelog with a dated section for `version`, the targets manifest,
    /// the policy of docs/plasmite/policy.toml, licence files and the toolchain pin.
    pub fn plasmite(version: &str) -> FixtureBuilder {
        plasmite_files(version).into_iter().fold(FixtureBuilder::new(), |b, (path, text)| b.file(path, text))
    }

    /// The work tree.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// A folder beside the work tree for the test's own files (remotes, downloads).
    pub fn scratch(&self) -> Utf8PathBuf {
        self.base.join("scratch")
    }

    /// `root/path`.
    pub fn path(&self, path: &str) -> Utf8PathBuf {
        self.root.join(path)
    }

    /// Writes a file in the work tree (creating folders).
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
        let full = self.path(path);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&full, contents).with_context(|| format!("cannot write fixture file {full}"))
    }

    /// Reads a work-tree file as text.
    pub fn read(&self, path: &str) -> anyhow::Result<String> {
        fs::read_to_string(self.path(path)).with_context(|| format!("cannot read fixture file {path}"))
    }

    /// Replaces the first `from` with `to` in a work-tree file; an error if `from` is absent.
    pub fn replace(&self, path: &str, from: &str, to: &str) -> anyhow::Result<()> {
        let text = self.read(path)?;
        if !text.contains(from) {
            bail!("fixture file {path} has no {from:?}");
        }
        self.write(path, text.replacen(from, to, 1))
    }

    /// Runs git in the work tree with the isolated environment; returns stdout.
    pub fn git(&self, args: &[&str]) -> anyhow::Result<String> {
        git_in(&self.root, args)
    }

    /// Stages everything and commits (allowing an empty commit).
    pub fn commit(&self, message: &str) -> anyhow::Result<String> {
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "--allow-empty", "-m", message])?;
        Ok(self.git(&["rev-parse", "HEAD"])?.trim().to_string())
    }

    /// An annotated tag at HEAD.
    pub fn tag(&self, name: &str) -> anyhow::Result<()> {
        self.git(&["tag", "-a", name, "-m", &format!("Release {name}")]).map(drop)
    }

    /// Creates a bare repository beside the work tree, adds it as `origin`, and pushes `main`
    /// (with upstream tracking) and every tag. Returns the bare repository's path.
    pub fn add_remote(&self) -> anyhow::Result<Utf8PathBuf> {
        let bare = self.base.join("origin.git");
        git_in(&self.base, &["init", "-q", "--bare", "-b", "main", bare.as_str()])?;
        self.git(&["remote", "add", "origin", bare.as_str()])?;
        self.git(&["push", "-q", "-u", "origin", "main"])?;
        self.git(&["push", "-q", "origin", "--tags"])?;
        Ok(bare)
    }
}

/// Runs git in `dir` with [`GIT_ENV`].
pub fn git_in(dir: &Utf8Path, args: &[&str]) -> anyhow::Result<String> {
    let sh = Shell::new()?;
    sh.change_dir(dir);
    for (k, v) in GIT_ENV {
        sh.set_var(k, v);
    }
    let out = cmd!(sh, "git {args...}").quiet().ignore_status().output()?;
    if !out.status.success() {
        bail!("git {} failed in {dir}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
