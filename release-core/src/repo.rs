//! [`Repo`]: the repository root and the git questions the checks ask of it.
//!
//! Every query runs `git` through xshell with an argument list (never a shell string), with
//! `LC_ALL=C` and prompts disabled, and turns a failure into an error carrying git's stderr.
//! Questions to a remote (`ls-remote`) run with a time bound ([`REMOTE_TIMEOUT`]): an origin
//! that never answers is an error saying so, not a hang.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{Shell, cmd};

use crate::target::ReleaseTarget;

/// How long a question to a remote may take before it counts as unanswered.
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(10);

/// A git work tree.
#[derive(Debug, Clone)]
pub struct Repo {
    root: Utf8PathBuf,
}

/// Where HEAD stands against its upstream branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushState {
    /// HEAD is detached: there is no branch to push.
    Detached,
    /// The branch has no upstream configured.
    NoUpstream,
    /// HEAD equals its upstream.
    UpToDate,
    /// Commits on either side that the other lacks.
    Diverged {
        /// Local commits not on the upstream.
        ahead: usize,
        /// Upstream commits not in HEAD.
        behind: usize,
    },
}

impl Repo {
    /// The work tree containing `dir` (its top level, as git reports it).
    pub fn discover(dir: &Utf8Path) -> anyhow::Result<Repo> {
        let sh = shell(dir)?;
        let out = run(&sh, &["rev-parse", "--show-toplevel"])
            .with_context(|| format!("{dir} is not inside a git work tree"))?;
        let root = Utf8PathBuf::from(out.trim());
        Ok(Repo { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// `root/relative`.
    pub fn path(&self, relative: impl AsRef<Utf8Path>) -> Utf8PathBuf {
        self.root.join(relative)
    }

    /// The root `Cargo.toml`, parsed; `None` when there is none.
    pub fn root_manifest(&self) -> anyhow::Result<Option<toml::Table>> {
        let path = self.path("Cargo.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
        };
        let doc = toml::from_str(&text).with_context(|| format!("{path} is not valid TOML"))?;
        Ok(Some(doc))
    }

    /// The git directory of this work tree (absolute): `.git`, or the worktree's folder
    /// under the main repository's `.git/worktrees/`.
    pub fn git_dir(&self) -> anyhow::Result<Utf8PathBuf> {
        Ok(Utf8PathBuf::from(self.git(&["rev-parse", "--absolute-git-dir"])?.trim()))
    }

    /// Runs `git <args>` in the root and returns its stdout.
    pub fn git(&self, args: &[&str]) -> anyhow::Result<String> {
        run(&shell(&self.root)?, args)
    }

    /// Every tag name.
    pub fn tags(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.git(&["tag", "--list"])?.lines().map(str::to_owned).collect())
    }

    /// Tags that are release targets (`v1.2.3`, `v1.2.3-rc.1`); other tags are ignored.
    pub fn release_tags(&self) -> anyhow::Result<Vec<ReleaseTarget>> {
        Ok(release_tags(&self.tags()?))
    }

    /// The base tag of `target`.
    pub fn base_tag(&self, target: &ReleaseTarget) -> anyhow::Result<Option<ReleaseTarget>> {
        Ok(base_tag(&self.release_tags()?, target))
    }

    /// The commit HEAD points to.
    pub fn head(&self) -> anyhow::Result<String> {
        Ok(self.git(&["rev-parse", "--verify", "HEAD^{commit}"])?.trim().to_string())
    }

    /// The current branch, or `None` when HEAD is detached.
    pub fn branch(&self) -> anyhow::Result<Option<String>> {
        let out = run_status(&shell(&self.root)?, &["symbolic-ref", "--short", "-q", "HEAD"])?;
        Ok(out.ok().map(|s| s.trim().to_string()))
    }

    /// The commit a tag points to (peeling annotated tags), or `None` if there is no such tag.
    pub fn tag_commit(&self, tag: &str) -> anyhow::Result<Option<String>> {
        let spec = format!("refs/tags/{tag}^{{commit}}");
        let out = run_status(&shell(&self.root)?, &["rev-parse", "--verify", "--quiet", &spec])?;
        Ok(out.ok().map(|s| s.trim().to_string()))
    }

    /// Paths changed between `since` and the work tree: committed, staged, unstaged and
    /// untracked (not ignored) files. Renames list both sides.
    pub fn changed_since(&self, since: &str) -> anyhow::Result<Vec<String>> {
        let mut files: Vec<String> = self
            .git(&["diff", "--name-only", "--no-renames", "-z", since, "--"])?
            .split('\0')
            .chain(self.git(&["ls-files", "--others", "--exclude-standard", "-z"])?.split('\0'))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// `git status --porcelain` lines: empty when the work tree is clean.
    pub fn dirty_files(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.git(&["status", "--porcelain"])?.lines().map(str::to_owned).collect())
    }

    /// Whether HEAD's commits are on its upstream branch (as last fetched).
    pub fn push_state(&self) -> anyhow::Result<PushState> {
        if self.branch()?.is_none() {
            return Ok(PushState::Detached);
        }
        let sh = shell(&self.root)?;
        if run_status(&sh, &["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"])?.is_err() {
            return Ok(PushState::NoUpstream);
        }
        let counts = self.git(&["rev-list", "--left-right", "--count", "HEAD...@{upstream}"])?;
        let mut parts = counts.split_whitespace().map(str::parse::<usize>);
        match (parts.next(), parts.next()) {
            (Some(Ok(0)), Some(Ok(0))) => Ok(PushState::UpToDate),
            (Some(Ok(ahead)), Some(Ok(behind))) => Ok(PushState::Diverged { ahead, behind }),
            _ => bail!("unexpected output from git rev-list --count: {counts:?}"),
        }
    }

    /// Creates the annotated tag `name` at HEAD with `message`. Never forced: an existing tag
    /// of that name is an error, so a release tag is never moved.
    pub fn create_tag(&self, name: &str, message: &str) -> anyhow::Result<()> {
        self.git(&["tag", "-a", name, "-m", message, "HEAD"]).map(drop)
    }

    /// Pushes `refs` (`refs/tags/v1.2.3`...) to `remote` in one atomic push: all land or none
    /// does. Bounded by `PUSH_TIMEOUT`.
    pub fn push_refs(&self, remote: &str, refs: &[String]) -> anyhow::Result<()> {
        let mut args = vec!["push", "--atomic", "--quiet", remote];
        args.extend(refs.iter().map(String::as_str));
        self.git_bounded(&args, PUSH_TIMEOUT).map(drop)
    }

    /// Pushes HEAD to the branch of the same name on `remote`, setting it as the upstream.
    /// Bounded by `PUSH_TIMEOUT`.
    pub fn push_head(&self, remote: &str) -> anyhow::Result<()> {
        self.git_bounded(&["push", "--quiet", "--set-upstream", remote, "HEAD"], PUSH_TIMEOUT).map(drop)
    }

    /// Whether `tag` exists on the remote `remote` (asks the remote; needs the network). An
    /// error when the remote cannot be asked, or does not answer within [`REMOTE_TIMEOUT`].
    pub fn remote_has_tag(&self, remote: &str, tag: &str) -> anyhow::Result<bool> {
        let refname = format!("refs/tags/{tag}");
        let out = self.git_bounded(&["ls-remote", "--tags", remote, &refname], REMOTE_TIMEOUT)?;
        Ok(out.lines().any(|l| l.split_whitespace().nth(1) == Some(refname.as_str())))
    }
}

/// How long a push of release tags may take.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(120);

impl Repo {
    /// Runs git like [`Repo::git`], killing it (and whatever it started: ssh, a credential
    /// helper) when it is still running after `timeout`. Not through xshell, which has no
    /// time limit; output goes to temporary files, so a helper that outlives the kill cannot
    /// hold a pipe open.
    fn git_bounded(&self, args: &[&str], timeout: Duration) -> anyhow::Result<String> {
        let shown = format!("git {}", args.join(" "));
        let (out, err) = (tempfile::tempfile()?, tempfile::tempfile()?);
        let mut command = std::process::Command::new("git");
        command
            .args(args)
            .current_dir(&self.root)
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(err.try_clone()?);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group, so the kill reaches ssh too.
            command.process_group(0);
        }
        let mut child =
            command.spawn().with_context(|| format!("cannot run `{shown}`: is git installed and on PATH?"))?;
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().with_context(|| format!("waiting for `{shown}`"))? {
                break status;
            }
            if started.elapsed() >= timeout {
                #[cfg(unix)]
                if let Ok(pid) = i32::try_from(child.id()) {
                    // SAFETY: kill(2) on the process group created above for this child
                    // (process_group(0): its pgid is its pid); it touches no memory.
                    unsafe {
                        libc::kill(-pid, libc::SIGKILL);
                    }
                }
                let _ = child.kill();
                let _ = child.wait();
                bail!("`{shown}` did not answer within {}s: the remote could not be asked", timeout.as_secs());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let read = |mut f: std::fs::File| -> String {
            use std::io::{Read as _, Seek as _};
            let mut text = Vec::new();
            let _ = f.rewind().and_then(|_| f.take(1024 * 1024).read_to_end(&mut text));
            String::from_utf8_lossy(&text).into_owned()
        };
        if status.success() {
            Ok(read(out))
        } else {
            let stderr = read(err);
            bail!("`{shown}` failed: {}", stderr.trim().lines().last().unwrap_or("no output"))
        }
    }
}

/// Tags that parse as release targets.
pub fn release_tags(tags: &[String]) -> Vec<ReleaseTarget> {
    tags.iter().filter(|t| t.starts_with('v')).filter_map(|t| ReleaseTarget::parse(t).ok()).collect()
}

/// The base tag of `target`: the highest stable tag strictly below it by semver order.
/// Pre-release tags are ignored, except that a pre-release target may take an earlier
/// pre-release of the same version (`v0.9.0-rc.2` -> `v0.9.0-rc.1`).
pub fn base_tag(tags: &[ReleaseTarget], target: &ReleaseTarget) -> Option<ReleaseTarget> {
    let same_core = |t: &ReleaseTarget| {
        let (a, b) = (t.semver(), target.semver());
        (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
    };
    tags.iter()
        .filter(|t| *t < target)
        .filter(|t| !t.is_prerelease() || (target.is_prerelease() && same_core(t)))
        .max()
        .cloned()
}

fn shell(dir: &Utf8Path) -> anyhow::Result<Shell> {
    let sh = Shell::new().context("cannot start a shell for git")?;
    sh.change_dir(dir);
    sh.set_var("LC_ALL", "C");
    sh.set_var("GIT_TERMINAL_PROMPT", "0");
    Ok(sh)
}

fn run(sh: &Shell, args: &[&str]) -> anyhow::Result<String> {
    match run_status(sh, args)? {
        Ok(stdout) => Ok(stdout),
        Err(stderr) => {
            bail!("`git {}` failed: {}", args.join(" "), stderr.trim().lines().last().unwrap_or("no output"))
        }
    }
}

/// Runs git: `Ok(Ok(stdout))` on success, `Ok(Err(stderr))` when git ran and exited non-zero,
/// `Err` when git could not be run at all.
fn run_status(sh: &Shell, args: &[&str]) -> anyhow::Result<Result<String, String>> {
    let out = cmd!(sh, "git {args...}")
        .quiet()
        .ignore_status()
        .output()
        .with_context(|| format!("cannot run `git {}`: is git installed and on PATH?", args.join(" ")))?;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Ok(if out.status.success() { Ok(text(&out.stdout)) } else { Err(text(&out.stderr)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<ReleaseTarget> {
        release_tags(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn base(list: &[&str], target: &str) -> Option<String> {
        base_tag(&tags(list), &ReleaseTarget::parse(target).unwrap()).map(|t| t.tag())
    }

    #[test]
    fn base_tag_is_semver_ordered() {
        let plasmite = ["v0.1.0", "v0.1.9", "v0.1.13", "v0.1.14", "v0.2.0", "v0.7.2", "v0.8.0", "nightly", "v1"];
        assert_eq!(base(&plasmite, "v0.9.0").as_deref(), Some("v0.8.0"));
        assert_eq!(base(&plasmite, "v0.8.0").as_deref(), Some("v0.7.2"));
        assert_eq!(base(&plasmite, "v0.1.10").as_deref(), Some("v0.1.9"));
        assert_eq!(base(&plasmite, "v1.0.0").as_deref(), Some("v0.8.0"));
        assert_eq!(base(&plasmite, "v0.1.0"), None);
    }

    #[test]
    fn prerelease_tags_do_not_become_bases() {
        // Bug 11: with v0.9.0 and v0.9.0-rc.1, sort -V made the rc the base of v0.9.1.
        let list = ["v0.8.0", "v0.9.0-rc.1", "v0.9.0"];
        assert_eq!(base(&list, "v0.9.1").as_deref(), Some("v0.9.0"));
        assert_eq!(base(&["v0.8.0", "v0.9.0-rc.1"], "v0.9.0").as_deref(), Some("v0.8.0"));
        assert_eq!(base(&["v0.8.0", "v0.9.0-rc.1"], "v0.9.0-rc.2").as_deref(), Some("v0.9.0-rc.1"));
        assert_eq!(base(&["v0.8.0", "v0.9.0-rc.1"], "v0.9.0-rc.1").as_deref(), Some("v0.8.0"));
        assert_eq!(base(&["v0.8.0", "v0.8.5-rc.1"], "v0.9.0-rc.1").as_deref(), Some("v0.8.0"));
    }

    #[test]
    fn git_queries_on_a_real_repository() {
        use crate::testing::FixtureRepo;
        let fixture = FixtureRepo::plasmite("0.8.0").tags(&["v0.7.2", "v0.8.0-rc.1"]).with_remote().build().unwrap();
        let repo = Repo::discover(&fixture.path("src/core")).unwrap();
        assert_eq!(repo.root().canonicalize_utf8().unwrap(), fixture.root().canonicalize_utf8().unwrap());
        assert_eq!(repo.release_tags().unwrap().len(), 2);
        let target = ReleaseTarget::parse("v0.8.0").unwrap();
        assert_eq!(repo.base_tag(&target).unwrap().unwrap().tag(), "v0.7.2");

        // Annotated tags are peeled to their commit.
        let tagged = fixture.git(&["rev-parse", "v0.8.0-rc.1^{commit}"]).unwrap();
        assert_eq!(repo.tag_commit("v0.8.0-rc.1").unwrap().as_deref(), Some(tagged.trim()));
        assert_eq!(repo.tag_commit("v9.9.9").unwrap(), None);
        assert_eq!(repo.branch().unwrap().as_deref(), Some("main"));
        assert_eq!(repo.push_state().unwrap(), PushState::UpToDate);
        assert!(repo.dirty_files().unwrap().is_empty());

        // Changes since the tag: committed, modified in the tree, and untracked files.
        fixture.write("src/core/pool.rs", "// changed\n").unwrap();
        fixture.write("src/new.rs", "// new\n").unwrap();
        let changed = repo.changed_since("v0.8.0-rc.1").unwrap();
        assert!(changed.contains(&"Cargo.toml".to_string()), "{changed:?}");
        assert!(changed.contains(&"src/core/pool.rs".to_string()) && changed.contains(&"src/new.rs".to_string()));
        assert_eq!(repo.dirty_files().unwrap().len(), 2);
        fixture.commit("work").unwrap();
        assert_eq!(repo.push_state().unwrap(), PushState::Diverged { ahead: 1, behind: 0 });
        assert!(repo.remote_has_tag("origin", "v0.7.2").unwrap());
        assert!(!repo.remote_has_tag("origin", "v0.8.0").unwrap());
        assert!(repo.changed_since("v0.0.1").is_err(), "an unknown ref is an error, not 'nothing changed'");
    }

    #[test]
    fn outside_a_repository_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(dir.path()).unwrap();
        let e = Repo::discover(path).unwrap_err();
        assert!(format!("{e:#}").contains("not inside a git work tree"), "{e:#}");
    }
}
