//! What one attempt of each channel does. Every installed binary is run by its path inside the
//! scratch dir, never looked up on PATH (bug 31). Attempts run in a temp dir outside the
//! repository; their logs are written beside the evidence record, where they stay.

use std::{
    ffi::{OsStr, OsString},
    fs,
    time::Instant,
};

use camino::{Utf8Path, Utf8PathBuf};

use super::{
    Attempt, Budget, SmokeOptions,
    exec::{self, Cmd, Ran, Tool},
    failure::{self, Failure},
    has_version_token, retry,
};
use crate::{
    env::Env, manifest::Channel, policy::Policy, repo::Repo, report::CheckId, report::Evidence, report::Finding,
    report::Outcome, target::ReleaseTarget,
};

/// The variables rustup sets for the processes of a proxied command (`cargo xtask`): the
/// toolchain it chose, and why.
const RUSTUP_VARS: [&str; 2] = ["RUSTUP_TOOLCHAIN", "RUSTUP_TOOLCHAIN_SOURCE"];

/// True when `RUSTUP_TOOLCHAIN` was set by rustup from the repository's own pin (its
/// `rust-toolchain.toml` or a `rustup override`), not by the user: `cargo xtask` run in the
/// repository passes it on, and `cargo install` would then build the published crate with the
/// repository's toolchain, which a user's would not. rustup says where it came from in
/// `RUSTUP_TOOLCHAIN_SOURCE`; an older rustup that does not is judged by the toolchain's name
/// against the repository's toolchain file.
pub(crate) fn repository_pinned_toolchain(repo: &Repo, env: &Env) -> bool {
    let Some(toolchain) = env.get("RUSTUP_TOOLCHAIN") else { return false };
    if let Some(source) = env.get("RUSTUP_TOOLCHAIN_SOURCE") {
        return matches!(source, "toolchain-file" | "path-override");
    }
    ["rust-toolchain.toml", "rust-toolchain"].iter().any(|file| {
        let Ok(text) = std::fs::read_to_string(repo.path(file)) else { return false };
        let channel = toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|t| t.get("toolchain")?.get("channel")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| text.trim().to_string());
        !channel.is_empty() && (toolchain == channel || toolchain.starts_with(&format!("{channel}-")))
    })
}

/// The folders of one attempt: where it runs (outside the repository) and where its logs go.
pub(crate) struct Dirs {
    pub work: Utf8PathBuf,
    pub logs: Utf8PathBuf,
}

/// One channel's share of a smoke run.
pub(crate) struct Job<'a> {
    pub policy: &'a Policy,
    pub target: &'a ReleaseTarget,
    pub opts: &'a SmokeOptions,
    pub budget: Budget,
    /// This channel's own scratch dir, in the temp dir outside the repository.
    pub dir: Utf8PathBuf,
    /// This channel's log dir, under the repository's `.scratch/release/logs/`: kept.
    pub logs: Utf8PathBuf,
    /// The repository root, to show log paths relative to it.
    pub root: &'a Utf8Path,
    pub redactor: &'a crate::redact::Redactor,
    /// Where tools are looked up: the smoke's own PATH, else the environment's.
    pub tool_path: Option<&'a OsStr>,
    /// Do not pass the repository's pinned rustup toolchain on to `cargo install`.
    pub unpin: bool,
}

impl Job<'_> {
    fn bin(&self) -> &str {
        self.policy.smoke.bin.as_deref().unwrap_or(&self.policy.project.name)
    }

    fn tool(&self, name: &str) -> Option<Tool> {
        Tool::find(name, self.tool_path)
    }

    /// Runs `args` with `tool` in `dirs.work`, output to `dirs.logs/<log>`.
    fn run(&self, tool: &Tool, args: &[&str], dirs: &Dirs, log: &str, env: &[(&str, String)]) -> Ran {
        self.run_with_path(tool, args, dirs, log, env, self.opts.path.clone())
    }

    fn run_with_path(
        &self,
        tool: &Tool,
        args: &[&str],
        dirs: &Dirs,
        log: &str,
        env: &[(&str, String)],
        path: Option<OsString>,
    ) -> Ran {
        let cmd = Cmd {
            tool,
            args: args.iter().map(|s| s.to_string()).collect(),
            cwd: &dirs.work,
            env: env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            path,
            log: &dirs.logs.join(log),
            deadline: self.budget.command_deadline(),
        };
        exec::run(cmd, self.redactor)
    }

    /// The command, its exit and output tail, and the log file with all of it (a path
    /// relative to the repository root, which outlives the run).
    fn evidence(&self, ran: &Ran) -> Vec<Evidence> {
        let mut out = vec![ran.evidence()];
        if let Some(log) = ran.log.as_ref().filter(|log| log.is_file()) {
            out.push(Evidence::file(log.strip_prefix(self.root).unwrap_or(log).as_str()));
        }
        out
    }

    /// What a failed install means: retried while a retry can help (the network for the
    /// budget, a version not served yet for the propagation window), else a failure now.
    fn failed(&self, ran: &Ran, evidence: Vec<Evidence>) -> Attempt {
        if ran.not_started.is_some() {
            return Attempt::done(Outcome::Incomplete, ran.how(), evidence);
        }
        match failure::classify(ran) {
            Failure::Transient(why) => Attempt::retry(format!("{}: {why}", ran.how()), evidence),
            Failure::NotYetVisible(why) => Attempt::not_yet(format!("{}: {why}", ran.how()), evidence),
            Failure::Deterministic(why) => Attempt::done(
                Outcome::Fail,
                format!("{}: {why}; not retried, another attempt would fail the same way", ran.how()),
                evidence,
            ),
        }
    }

    /// Fresh folders for attempt `n` of `leg`.
    fn attempt_dir(&self, leg: &str, n: u32) -> Result<Dirs, Attempt> {
        let what = format!("{leg} {} (attempt {n})", self.target.tag());
        self.opts.progress.send(crate::progress::Progress::Step { verb: "Installing", what });
        let name = format!("{leg}-attempt-{n}");
        let dirs = Dirs { work: self.dir.join(&name), logs: self.logs.join(&name) };
        for dir in [&dirs.work, &dirs.logs] {
            fs::create_dir_all(dir).map_err(|e| {
                Attempt::done(Outcome::Incomplete, format!("cannot create the scratch dir {dir}: {e}"), vec![])
            })?;
        }
        Ok(dirs)
    }

    /// Runs the installed `bin` by path with `--version` and checks the exact version word.
    /// `mismatch_retries`: a wrong version is worth retrying (a lagging tap), else it fails.
    fn check_version(
        &self,
        bin: &Utf8Path,
        dirs: &Dirs,
        path: Option<OsString>,
        mut evidence: Vec<Evidence>,
        mismatch_retries: bool,
    ) -> Attempt {
        let version = self.target.version();
        if !bin.is_file() {
            return Attempt::done(
                Outcome::Fail,
                format!("the install succeeded but it has no executable `{}` at {bin}", self.bin()),
                evidence,
            );
        }
        let ran = self.run_with_path(&Tool::at(bin), &["--version"], dirs, "version.log", &[], path);
        evidence.extend(self.evidence(&ran));
        let first = ran.output.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        if !ran.ok() {
            return Attempt::done(Outcome::Fail, format!("the installed binary does not run: {}", ran.how()), evidence);
        }
        if has_version_token(&ran.output, self.target) {
            return Attempt::done(
                Outcome::Pass,
                format!("installed, and `{} --version` printed `{first}`", self.bin()),
                evidence,
            );
        }
        let detail =
            format!("`{} --version` printed `{first}`, which does not have {version} as a whole word", self.bin());
        if mismatch_retries { Attempt::retry(detail, evidence) } else { Attempt::done(Outcome::Fail, detail, evidence) }
    }
}

/// Every finding of one channel (npm has two legs). `skip`: why the channel is not smoked on
/// this platform (the targets manifest ships nothing for it here).
pub(crate) fn run(channel: Channel, job: &Job<'_>, skip: Option<String>) -> Vec<Finding> {
    for dir in [&job.dir, &job.logs] {
        if let Err(e) = fs::create_dir_all(dir) {
            let msg = format!("cannot create the scratch dir {dir}: {e}");
            return vec![Finding::incomplete(super::check(channel), channel.name(), msg)];
        }
    }
    let skip = skip.as_deref();
    match channel {
        Channel::Npm => npm(job, skip),
        Channel::Pypi => vec![pypi(job, skip)],
        Channel::Crates => vec![crates(job)],
        Channel::Homebrew => vec![homebrew(job, skip)],
        Channel::Github | Channel::CargoBinstall => {
            vec![Finding::skipped(super::check(channel), channel.name(), "smoke has no install for this channel")]
        }
    }
}

fn finding(check: &CheckId, subject: &str, (outcome, detail, evidence): (Outcome, String, Vec<Evidence>)) -> Finding {
    Finding { evidence, ..Finding::new(check.clone(), subject, outcome, detail) }
}

fn missing(check: &CheckId, subject: &str, tool: &str, how: &str) -> Finding {
    Finding::incomplete(check, subject, format!("`{tool}` is not on PATH, so this could not be checked: {how}"))
}

fn npm(job: &Job<'_>, skip: Option<&str>) -> Vec<Finding> {
    let check = super::check(Channel::Npm);
    let Some(channel) = &job.policy.channels.npm else {
        return vec![Finding::skipped(&check, "npm", "the policy has no [channel.npm]")];
    };
    let spec = format!("{}@{}", channel.package, job.target.version());
    let subject = format!("npm {spec}");
    if let Some(reason) = skip {
        return vec![
            Finding::skipped(&check, subject, reason),
            Finding::skipped(CheckId::SMOKE_NPM_PNPM, format!("npm {spec} via pnpm"), reason),
        ];
    }
    let Some(npm) = job.tool("npm") else {
        let how = "install Node.js, which ships npm (actions/setup-node in GitHub Actions)";
        return vec![missing(&check, &subject, "npm", how)];
    };
    let registry: Vec<String> = match &job.policy.endpoints.npm {
        Some(url) => vec!["--registry".into(), url.clone()],
        None => Vec::new(),
    };
    let env = [
        ("npm_config_cache", job.dir.join("npm-cache").to_string()),
        ("npm_config_update_notifier", "false".to_string()),
    ];
    let npm_leg = retry(&job.budget, |n| {
        let dir = match job.attempt_dir("npm", n) {
            Ok(d) => d,
            Err(a) => return a,
        };
        let init = job.run(&npm, &["init", "-y"], &dir, "init.log", &env);
        if !init.ok() {
            let detail = format!("could not prepare a scratch package: {}", init.how());
            return Attempt::done(Outcome::Incomplete, detail, job.evidence(&init));
        }
        let mut args = vec!["install", "--no-audit", "--no-fund", "--prefer-online"];
        args.extend(registry.iter().map(String::as_str));
        args.push(&spec);
        let install = job.run(&npm, &args, &dir, "install.log", &env);
        if !install.ok() {
            return job.failed(&install, job.evidence(&install));
        }
        let bin = dir.work.join("node_modules/.bin").join(job.bin());
        job.check_version(&bin, &dir, None, job.evidence(&install), false)
    });
    let mut findings = vec![finding(&check, &subject, npm_leg)];
    findings.push(pnpm(job, &spec, &registry));
    findings
}

/// The pnpm leg: its own finding, whatever the npm leg said (bug 29).
fn pnpm(job: &Job<'_>, spec: &str, registry: &[String]) -> Finding {
    let check = CheckId::SMOKE_NPM_PNPM;
    let subject = format!("npm {spec} via pnpm");
    let Some(pnpm) = find_pnpm(job) else {
        return Finding::skipped(
            &check,
            subject,
            "pnpm is not on PATH and `corepack pnpm` does not work offline; the npm leg is the channel's \
             required proof, install pnpm (or run `corepack enable pnpm` once online) to run this leg too",
        );
    };
    let store = job.dir.join("pnpm-store").to_string();
    let result = retry(&job.budget, |n| {
        let dir = match job.attempt_dir("pnpm", n) {
            Ok(d) => d,
            Err(a) => return a,
        };
        let package = dir.work.join("package.json");
        if let Err(e) = fs::write(&package, "{\"name\": \"release-smoke\", \"private\": true}\n") {
            return Attempt::done(Outcome::Incomplete, format!("cannot write {package}: {e}"), vec![]);
        }
        let mut args = vec!["add", "--store-dir", store.as_str()];
        args.extend(registry.iter().map(String::as_str));
        args.push(spec);
        let install = job.run(&pnpm, &args, &dir, "install.log", &[]);
        if !install.ok() {
            return job.failed(&install, job.evidence(&install));
        }
        let bin = dir.work.join("node_modules/.bin").join(job.bin());
        job.check_version(&bin, &dir, None, job.evidence(&install), false)
    });
    finding(&check, &subject, result)
}

/// `pnpm` on PATH; else `corepack pnpm` when it answers `--version` without the network.
fn find_pnpm(job: &Job<'_>) -> Option<Tool> {
    if let Some(pnpm) = job.tool("pnpm") {
        return Some(pnpm);
    }
    let mut corepack = job.tool("corepack")?;
    corepack.prefix = vec!["pnpm".into()];
    corepack.shown = vec!["corepack".into(), "pnpm".into()];
    corepack.env =
        vec![("COREPACK_ENABLE_NETWORK".into(), "0".into()), ("COREPACK_ENABLE_DOWNLOAD_PROMPT".into(), "0".into())];
    let probe = Cmd {
        tool: &corepack,
        args: vec!["--version".into()],
        cwd: &job.dir,
        env: Vec::new(),
        path: job.opts.path.clone(),
        log: &job.logs.join("corepack-probe.log"),
        deadline: Instant::now() + std::time::Duration::from_secs(30),
    };
    exec::run(probe, job.redactor).ok().then_some(corepack)
}

fn pypi(job: &Job<'_>, skip: Option<&str>) -> Finding {
    let check = super::check(Channel::Pypi);
    let Some(channel) = &job.policy.channels.pypi else {
        return Finding::skipped(&check, "pypi", "the policy has no [channel.pypi]");
    };
    let spec = format!("{}=={}", channel.package, job.target.pep440());
    let subject = format!("pypi {spec}");
    if let Some(reason) = skip {
        return Finding::skipped(&check, subject, reason);
    }
    let Some(uv) = job.tool("uv") else {
        let how =
            "install uv (the standalone installer from the uv documentation, or astral-sh/setup-uv in GitHub Actions)";
        return missing(&check, &subject, "uv", how);
    };
    let index = job.policy.endpoints.pypi.as_ref().map(|base| format!("{}/simple/", base.trim_end_matches('/')));
    let cache = job.dir.join("uv-cache").to_string();
    let result = retry(&job.budget, |n| {
        let dir = match job.attempt_dir("pypi", n) {
            Ok(d) => d,
            Err(a) => return a,
        };
        let bin_dir = dir.work.join("bin");
        let env = [
            ("UV_CACHE_DIR", cache.clone()),
            ("UV_TOOL_DIR", dir.work.join("tools").to_string()),
            ("UV_TOOL_BIN_DIR", bin_dir.to_string()),
        ];
        let mut args = vec!["tool", "install", "--force", "--refresh-package", channel.package.as_str()];
        if let Some(index) = &index {
            args.extend(["--default-index", index.as_str()]);
        }
        args.push(&spec);
        let install = job.run(&uv, &args, &dir, "install.log", &env);
        if !install.ok() {
            return job.failed(&install, job.evidence(&install));
        }
        // PATH holds only the tool's own bin dir, so a wrapper that falls back to any
        // `<bin>` on PATH cannot reach a system install (bug 31).
        let path = Some(OsString::from(bin_dir.as_str()));
        job.check_version(&bin_dir.join(job.bin()), &dir, path, job.evidence(&install), false)
    });
    finding(&check, &subject, result)
}

fn crates(job: &Job<'_>) -> Finding {
    let check = super::check(Channel::Crates);
    let Some(channel) = &job.policy.channels.crates else {
        return Finding::skipped(&check, "crates", "the policy has no [channel.crates]");
    };
    let version = job.target.version();
    let subject = format!("crates {}@{version}", channel.package);
    let Some(mut cargo) = job.tool("cargo") else {
        return missing(
            &check,
            &subject,
            "cargo",
            "install Rust with rustup (dtolnay/rust-toolchain in GitHub Actions)",
        );
    };
    if job.unpin {
        cargo.unset = RUSTUP_VARS.iter().map(|v| v.to_string()).collect();
    }
    let index = job.policy.endpoints.crates_index.as_ref().map(|url| {
        // cargo wants `sparse+` and a trailing `/` on a sparse index URL.
        let url = url.strip_prefix("sparse+").unwrap_or(url).trim_end_matches('/');
        format!("sparse+{url}/")
    });
    let root = job.dir.join("cargo-root");
    let env = [("CARGO_HOME", job.dir.join("cargo-home").to_string())];
    let result = retry(&job.budget, |n| {
        let dir = match job.attempt_dir("crates", n) {
            Ok(d) => d,
            Err(a) => return a,
        };
        let mut args = vec![
            "install",
            channel.package.as_str(),
            "--version",
            &version,
            "--locked",
            "--force",
            "--root",
            root.as_str(),
        ];
        if let Some(index) = &index {
            args.extend(["--index", index.as_str()]);
        }
        let install = job.run(&cargo, &args, &dir, "install.log", &env);
        if !install.ok() {
            return job.failed(&install, job.evidence(&install));
        }
        job.check_version(&root.join("bin").join(job.bin()), &dir, None, job.evidence(&install), false)
    });
    let mut found = finding(&check, &subject, result);
    if job.unpin {
        found.evidence.push(Evidence::note(
            "RUSTUP_TOOLCHAIN came from the repository's own toolchain pin: cargo install ran without it, \
             with the toolchain a user's rustup picks outside the repository",
        ));
    }
    found
}

/// `owner/homebrew-tap` + `Formula/plasmite.rb` -> `owner/tap/plasmite`.
pub(crate) fn brew_ref(tap: &str, formula: &str) -> String {
    let (owner, repo) = tap.split_once('/').unwrap_or((tap, ""));
    let short = repo.strip_prefix("homebrew-").unwrap_or(repo);
    let name = Utf8Path::new(formula).file_stem().unwrap_or(formula);
    format!("{owner}/{short}/{name}")
}

fn homebrew(job: &Job<'_>, skip: Option<&str>) -> Finding {
    let check = super::check(Channel::Homebrew);
    let Some(channel) = &job.policy.channels.homebrew else {
        return Finding::skipped(&check, "homebrew", "the policy has no [channel.homebrew]");
    };
    let formula = brew_ref(&channel.tap, &channel.formula);
    let subject = format!("homebrew {formula}");
    if job.opts.os != "macos" {
        let reason = format!(
            "Homebrew installs are smoked on macOS only (this is {}); run this channel in the macOS job",
            job.opts.os
        );
        return Finding::skipped(&check, subject, reason);
    }
    if let Some(reason) = skip {
        return Finding::skipped(&check, subject, reason);
    }
    let Some(brew) = job.tool("brew") else {
        return missing(&check, &subject, "brew", "install Homebrew, or run on a macOS runner that has it");
    };
    let env = [("HOMEBREW_NO_INSTALL_CLEANUP", "1".to_string()), ("HOMEBREW_NO_ENV_HINTS", "1".to_string())];
    let result = retry(&job.budget, |n| {
        let dir = match job.attempt_dir("homebrew", n) {
            Ok(d) => d,
            Err(a) => return a,
        };
        let install = job.run(&brew, &["install", &formula], &dir, "install.log", &env);
        if !install.ok() {
            return job.failed(&install, job.evidence(&install));
        }
        let mut evidence = job.evidence(&install);
        if n > 1 {
            // An earlier attempt saw an older version: the tap may have caught up since.
            let upgrade = job.run(&brew, &["upgrade", &formula], &dir, "upgrade.log", &env);
            evidence.extend(job.evidence(&upgrade));
        }
        let prefix = job.run(&brew, &["--prefix", &formula], &dir, "prefix.log", &env);
        if !prefix.ok() {
            evidence.extend(job.evidence(&prefix));
            return Attempt::retry(prefix.how(), evidence);
        }
        let bin = Utf8PathBuf::from(prefix.output.trim()).join("bin").join(job.bin());
        job.check_version(&bin, &dir, None, evidence, true)
    });
    finding(&check, &subject, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brew_refs() {
        assert_eq!(brew_ref("sandover/homebrew-tap", "Formula/plasmite.rb"), "sandover/tap/plasmite");
        assert_eq!(brew_ref("acme/tools", "x.rb"), "acme/tools/x");
    }
}
