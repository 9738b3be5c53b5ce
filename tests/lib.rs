//! Helpers for the end-to-end tests in `tests/tests/e2e/`: they run the real `xtask` binary (the
//! one `cargo xtask` runs) against fixture repositories.

use std::{
    path::PathBuf,
    process::{Command, Output},
    sync::OnceLock,
};

use camino::Utf8Path;
use release_core::testing::GIT_ENV;

/// The workspace root (this crate's parent folder).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A `cargo` command (the cargo that runs the tests) in the workspace root, without the
/// per-package variables `cargo test` sets for this test process: a build script (ring's)
/// tracks some of them, so passing them on would make this build and the next plain
/// `cargo build` or `cargo test` rebuild each other.
pub fn cargo_command() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let per_package = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ];
        if per_package.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(&key);
        }
    }
    cmd.current_dir(workspace_root());
    cmd
}

/// The xtask binary, built once per test process with the same cargo that runs the tests.
pub fn xtask_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = cargo_command().args(["build", "--quiet", "--package", "xtask"]).status().expect("cargo runs");
        assert!(status.success(), "building xtask failed");
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
        target.join("debug").join(format!("xtask{}", std::env::consts::EXE_SUFFIX))
    })
}

/// What one run of the command gave.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!("exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `xtask release <args> --repo <repo>` with git isolated from the machine's config and
/// without colour or CI environment.
pub fn release(repo: &Utf8Path, args: &[&str]) -> Run {
    release_with_env(repo, args, &[])
}

/// As [`release`], with extra environment variables (`GITHUB_ACTIONS`, ...).
pub fn release_with_env(repo: &Utf8Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = release_command(repo, args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from(cmd.output().expect("xtask runs"))
}

/// The command [`release`] runs, not started yet (to spawn several at once, or kill one).
/// Its working directory is `repo`, which may be any folder inside the repository.
pub fn release_command(repo: &Utf8Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(xtask_bin());
    cmd.arg("release").args(args).arg("--repo").arg(repo.as_str()).current_dir(repo);
    for (k, v) in GIT_ENV {
        cmd.env(k, v);
    }
    // GITHUB_OUTPUT too: a test run inside Actions must not set the outputs of its own step.
    cmd.env_remove("GITHUB_ACTIONS").env_remove("GITHUB_STEP_SUMMARY").env_remove("GITHUB_OUTPUT").env("NO_COLOR", "1");
    // The run `--file-blockers` attaches when the tests themselves run in Actions.
    for var in ["GITHUB_RUN_ID", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY"] {
        cmd.env_remove(var);
    }
    for var in release_core::testing::SECRET_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// A plasmite-shaped repository with tag `v0.7.2`, a remote, and `policy` (appended to a
/// minimal policy naming Cargo.toml, the changelog and the targets manifest) committed and
/// pushed, plus executable `scripts` (path, contents). The work tree is clean and pushed.
pub fn qa_fixture(policy: &str, scripts: &[(&str, &str)]) -> release_core::testing::FixtureRepo {
    let base = "[project]\nname = \"plasmite\"\n\n[[version]]\nfile = \"Cargo.toml\"\nfield = \"package.version\"\n\n\
                [changelog]\nfile = \"CHANGELOG.md\"\n\n[targets]\nmanifest = \"release/targets.json\"\n\n";
    let repo = release_core::testing::FixtureRepo::plasmite("0.8.0")
        .tags(&["v0.7.2"])
        .file("release/policy.toml", format!("{base}{policy}"))
        .with_remote()
        .build()
        .expect("fixture builds");
    if !scripts.is_empty() {
        for (path, text) in scripts {
            repo.write(path, text).expect("script written");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(repo.path(path), std::fs::Permissions::from_mode(0o755)).expect("chmod");
            }
        }
        repo.commit("Gate scripts").expect("commit");
        repo.git(&["push", "-q", "origin", "main"]).expect("push");
    }
    repo
}

/// The evidence record of `target` in `repo`, parsed.
pub fn evidence_json(repo: &Utf8Path, target: &str) -> serde_json::Value {
    let path = repo.join(format!(".scratch/release/evidence-{target}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON ({e}):\n{text}"))
}

/// The findings of `check` in a report.
pub fn findings<'a>(report: &'a serde_json::Value, check: &str) -> Vec<&'a serde_json::Value> {
    report["findings"].as_array().map(|a| a.iter().filter(|f| f["check"] == check).collect()).unwrap_or_default()
}

/// The finding about `subject` in a report; panics with the report when there is none.
pub fn finding<'a>(report: &'a serde_json::Value, subject: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["subject"] == subject))
        .unwrap_or_else(|| panic!("no finding for {subject}: {report:#}"))
}

/// The findings of a report that ended with `status` (`pass`, `fail`, `incomplete`, `skipped`
/// or `waived`, the wire names of the report's `status` field).
pub fn with_status<'a>(report: &'a serde_json::Value, status: &str) -> Vec<&'a serde_json::Value> {
    report["findings"].as_array().map(|a| a.iter().filter(|f| f["status"] == status).collect()).unwrap_or_default()
}

/// The finding that ended with `status`, about exactly `subject`, whose detail holds every one
/// of `words`; panics with the report when there is none.
pub fn finding_with<'a>(
    report: &'a serde_json::Value,
    status: &str,
    subject: &str,
    words: &[&str],
) -> &'a serde_json::Value {
    with_status(report, status)
        .into_iter()
        .find(|f| f["subject"] == subject && words.iter().all(|w| f["detail"].as_str().is_some_and(|d| d.contains(w))))
        .unwrap_or_else(|| panic!("no {status} finding for {subject} saying {words:?}: {report:#}"))
}

/// The README's "Using the library in your own tests" snippet, run as a doctest against this
/// repository (doctests run in this package's folder, inside the repository).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

/// docs/testing.md: a contributor test of `verify` against the fake registry, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../docs/testing.md")]
mod testing_page {}

#[cfg(test)]
mod documented_policy {
    /// The fixture's policy is a copy kept inside release-core (so its `testing` feature builds
    /// from the packaged crate); the documented one must say exactly the same.
    #[test]
    fn docs_plasmite_policy_is_the_fixture_policy() {
        let path = super::workspace_root().join("docs/plasmite/policy.toml");
        let documented = std::fs::read_to_string(&path).unwrap();
        assert!(
            documented == release_core::testing::PLASMITE_POLICY,
            "{} and release-core/src/testing/plasmite-policy.toml differ: copy one over the other",
            path.display()
        );
    }
}

/// What `--help` of one command lists.
#[derive(Debug, Default)]
pub struct Help {
    /// Its subcommands, without clap's `help`.
    pub commands: Vec<String>,
    /// The long form of every option (`--base-tag`), `--help` included.
    pub flags: std::collections::BTreeSet<String>,
}

/// Reads clap's help text. Subcommands are the first word of each line under `Commands:`.
/// An option line starts, after at most six spaces, with `-x, --long` or `--long`; clap
/// indents the wrapped descriptions of the long help further, so a flag a description names
/// (`the matching --reason`) is not taken for an option.
pub fn parse_help(text: &str) -> Help {
    let mut help = Help::default();
    let mut section = "";
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent == 0 && trimmed.ends_with(':') {
            section = trimmed;
        } else if section == "Commands:" && indent == 2 {
            let name = trimmed.split_whitespace().next().unwrap_or_default();
            if name != "help" {
                help.commands.push(name.to_string());
            }
        } else if indent <= 6 && trimmed.starts_with('-') {
            for token in trimmed.split_whitespace() {
                let token = token.trim_end_matches(',');
                if let Some(long) = token.strip_prefix("--") {
                    let name: String = long.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                    help.flags.insert(format!("--{name}"));
                    break;
                }
                if !token.starts_with('-') {
                    break;
                }
            }
        }
    }
    help
}

/// The text of `cargo xtask release <path> --help` of the real binary, without colour.
pub fn help_text<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(path: &[S]) -> String {
    let out = Command::new(xtask_bin())
        .arg("release")
        .args(path)
        .arg("--help")
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .current_dir(workspace_root())
        .output()
        .expect("xtask runs");
    assert!(out.status.success(), "release {path:?} --help: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("help is UTF-8")
}
