//! The built-in gates: version alignment, changelog, targets manifest, toolchain pins, clean
//! work tree, HEAD pushed, CI green on the release commit, no open blockers.

use camino::Utf8Path;

use super::Plan;
pub use super::changes::{Changes, Trigger};
use crate::{
    changelog, context::Context, manifest, policy::Tracker, repo::PushState, repo::Repo, report::CheckId,
    report::Evidence, report::Finding, versions,
};

/// A check implemented in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Every version surface equals the target.
    Versions,
    /// The changelog has a dated, non-empty section for the target.
    Changelog,
    /// The targets manifest is valid.
    Targets,
    /// `rust-toolchain.toml` agrees with the workflows' toolchain pins (bug 42).
    Toolchain,
    /// No uncommitted changes.
    CleanTree,
    /// HEAD is on a remote branch.
    HeadPushed,
    /// The newest completed CI run on HEAD succeeded (bug 41).
    CiGreen,
    /// No open release blockers in the evidence record.
    Blockers,
}

impl Builtin {
    /// Every built-in, in the order they run.
    pub const ALL: [Builtin; 8] = [
        Builtin::Versions,
        Builtin::Changelog,
        Builtin::Targets,
        Builtin::Toolchain,
        Builtin::CleanTree,
        Builtin::HeadPushed,
        Builtin::CiGreen,
        Builtin::Blockers,
    ];

    /// The gate id.
    pub fn id(self) -> CheckId {
        match self {
            Builtin::Versions => CheckId::VERSIONS,
            Builtin::Changelog => CheckId::CHANGELOG,
            Builtin::Targets => CheckId::TARGETS,
            Builtin::Toolchain => CheckId::TOOLCHAIN,
            Builtin::CleanTree => CheckId::CLEAN_TREE,
            Builtin::HeadPushed => CheckId::HEAD_PUSHED,
            Builtin::CiGreen => CheckId::CI_GREEN,
            Builtin::Blockers => CheckId::BLOCKERS,
        }
    }

    /// Whether `--waive` may skip it. The gates that say whether this is the release at all
    /// (its version, its exact commit, pushed and green, nothing blocking it) never are: a
    /// waiver there would tag something nobody checked (docs/gates.md).
    pub fn waivable(self) -> bool {
        !matches!(
            self,
            Builtin::Versions | Builtin::CleanTree | Builtin::HeadPushed | Builtin::CiGreen | Builtin::Blockers
        )
    }

    /// What it proves.
    pub fn description(self) -> &'static str {
        match self {
            Builtin::Versions => "every [[version]] surface equals the release target",
            Builtin::Changelog => "the changelog has a dated, non-empty section for the target",
            Builtin::Targets => "the targets manifest is valid",
            Builtin::Toolchain => "the toolchain file and the workflows' RUST_TOOLCHAIN pins agree",
            Builtin::CleanTree => "no uncommitted or untracked files",
            Builtin::HeadPushed => "HEAD is on a remote branch",
            Builtin::CiGreen => "the newest completed CI run on HEAD succeeded",
            Builtin::Blockers => "no open release blockers",
        }
    }

    /// Runs the check. Errors become failed findings, so one broken file does not hide the
    /// results of the other gates.
    pub fn check(self, cx: &Context, plan: &Plan) -> Vec<Finding> {
        let id = self.id();
        let result = match self {
            Builtin::Versions => versions::check_target(&cx.repo, &cx.policy, &plan.target).map(|r| r.findings),
            Builtin::Changelog => check_changelog(cx, plan),
            Builtin::Targets => check_targets(cx),
            Builtin::Toolchain => Ok(toolchain(cx)),
            Builtin::CleanTree => clean_tree(&cx.repo).map(|f| vec![f]),
            Builtin::HeadPushed => head_pushed(&cx.repo).map(|f| vec![f]),
            Builtin::CiGreen => match &cx.policy.ci {
                None => Ok(vec![Finding::skipped(&id, "CI", "the policy has no [ci] section")]),
                Some(_) => cx.repo.head().map(|head| vec![ci_green(cx, &head)]),
            },
            Builtin::Blockers => Ok(blockers(cx, plan)),
        };
        result.unwrap_or_else(|e| vec![Finding::fail(&id, id.as_str(), format!("{e:#}"))])
    }
}

fn check_changelog(cx: &Context, plan: &Plan) -> anyhow::Result<Vec<Finding>> {
    let Some(c) = &cx.policy.changelog else {
        return Ok(vec![Finding::skipped(CheckId::CHANGELOG, "changelog", "the policy has no [changelog] section")]);
    };
    let text =
        std::fs::read_to_string(cx.repo.path(&c.file)).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", c.file))?;
    let parsed = changelog::parse(&c.file, &text)?;
    Ok(vec![changelog::check(&c.file, &parsed, &plan.target)])
}

fn check_targets(cx: &Context) -> anyhow::Result<Vec<Finding>> {
    let Some(t) = &cx.policy.targets else {
        return Ok(vec![Finding::skipped(CheckId::TARGETS, "targets manifest", "the policy has no [targets] section")]);
    };
    let m = manifest::load(&cx.repo.path(&t.manifest), t.manifest.as_str())?;
    let mut findings = vec![
        Finding::pass(CheckId::TARGETS, t.manifest.as_str(), format!("valid: {} targets", m.targets.len()))
            .with(Evidence::file(t.manifest.as_str())),
    ];
    if let Some(lists) = &cx.policy.npm_platforms {
        findings.extend(crate::npm_platforms::check(&cx.repo, lists, &m));
    }
    Ok(findings)
}

/// Paths under `.scratch/` are the tool's own output (evidence records) and never make the
/// tree dirty.
fn is_own_output(porcelain_line: &str) -> bool {
    porcelain_line.get(3..).is_some_and(super::tree::is_own_output)
}

fn clean_tree(repo: &Repo) -> anyhow::Result<Finding> {
    let dirty: Vec<String> = repo.dirty_files()?.into_iter().filter(|l| !is_own_output(l)).collect();
    Ok(if dirty.is_empty() {
        Finding::pass(CheckId::CLEAN_TREE, "work tree", "no uncommitted or untracked files")
    } else {
        let shown: Vec<&str> = dirty.iter().take(10).map(|l| l.as_str()).collect();
        let more = if dirty.len() > 10 { format!(" and {} more", dirty.len() - 10) } else { String::new() };
        Finding::fail(
            CheckId::CLEAN_TREE,
            "work tree",
            format!("{} uncommitted file(s): commit or stash them", dirty.len()),
        )
        .with(Evidence::note(format!("git status --porcelain: {}{more}", shown.join("; "))))
    })
}

/// HEAD is pushed when its upstream contains it (up to date, or only behind). Without an
/// upstream (detached HEAD in CI, a branch never pushed) it is pushed when some
/// remote-tracking branch contains it (`git branch -r --contains HEAD`).
pub fn head_pushed(repo: &Repo) -> anyhow::Result<Finding> {
    // Keyed on HEAD, not its commit: one blocker follows the check across fix commits.
    head_pushed_at(repo).map(|f| f.keyed("HEAD"))
}

fn head_pushed_at(repo: &Repo) -> anyhow::Result<Finding> {
    let head = repo.head()?;
    let short = &head[..head.len().min(12)];
    let subject = format!("HEAD {short}");
    let state = repo.push_state()?;
    match state {
        PushState::UpToDate => {
            return Ok(Finding::pass(CheckId::HEAD_PUSHED, subject, "HEAD equals its upstream branch"));
        }
        PushState::Diverged { ahead: 0, behind } => {
            return Ok(Finding::pass(
                CheckId::HEAD_PUSHED,
                subject,
                format!("HEAD is on its upstream branch ({behind} newer commit(s) there)"),
            ));
        }
        PushState::Diverged { ahead, .. } => {
            return Ok(Finding::fail(
                CheckId::HEAD_PUSHED,
                subject,
                format!("{ahead} commit(s) not pushed to the upstream branch: git push"),
            ));
        }
        PushState::Detached | PushState::NoUpstream => {}
    }
    let remote_branches: Vec<String> = repo
        .git(&["branch", "-r", "--contains", &head, "--format=%(refname:short)"])?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.ends_with("/HEAD"))
        .map(str::to_owned)
        .collect();
    let why = if state == PushState::Detached { "HEAD is detached" } else { "the branch has no upstream" };
    Ok(match remote_branches.first() {
        Some(b) => Finding::pass(CheckId::HEAD_PUSHED, subject, format!("{why}; the commit is on {b}")),
        None => Finding::fail(
            CheckId::HEAD_PUSHED,
            subject,
            format!("{why}, and no remote-tracking branch contains {short}: push it (and fetch) first"),
        ),
    })
}

/// The CI gate: the newest completed (non-`pull_request`) run of `[ci] workflow` on `commit`
/// must have succeeded, by the same rule `verify` applies to the tag's commit
/// ([`crate::registry::github::ci_verdict`]).
pub fn ci_green(cx: &Context, commit: &str) -> Finding {
    crate::registry::github::ci_on_commit(
        &cx.http,
        &cx.policy,
        commit,
        &CheckId::CI_GREEN,
        &commit[..commit.len().min(12)],
    )
}

fn blockers(cx: &Context, plan: &Plan) -> Vec<Finding> {
    let mut findings = vec![if plan.open_blockers.is_empty() {
        Finding::pass(CheckId::BLOCKERS, "release blockers (evidence)", "no open blockers in the evidence record")
    } else {
        Finding::fail(
            CheckId::BLOCKERS,
            "release blockers (evidence)",
            format!("{} open blocker(s): {}", plan.open_blockers.len(), plan.open_blockers.join("; ")),
        )
    }];
    let epic = format!("Release blockers: {}", plan.target.tag());
    findings.push(match cx.policy.blockers.tracker {
        Tracker::None => Finding::skipped(
            CheckId::BLOCKERS,
            "release blockers (tracker)",
            "[blockers] tracker = \"none\": the evidence record is the only list",
        ),
        Tracker::Github => crate::blockers::github::gate(&cx.http, &cx.policy, &plan.target, &CheckId::BLOCKERS),
        Tracker::Ergo => {
            let ergo = crate::blockers::ergo::Ergo::new(&cx.policy.blockers.ergo, cx.repo.root());
            match ergo.open_tasks(&epic) {
                Ok(open) if open.is_empty() => Finding::pass(
                    CheckId::BLOCKERS,
                    "release blockers (ergo)",
                    format!("no open task in the epic \"{epic}\""),
                ),
                Ok(open) => {
                    let list: Vec<String> = open.iter().map(|i| format!("{} {}", i.id, i.title)).collect();
                    Finding::fail(
                        CheckId::BLOCKERS,
                        "release blockers (ergo)",
                        format!("{} open task(s) in \"{epic}\": {}", open.len(), list.join("; ")),
                    )
                }
                Err(e) => Finding::incomplete(CheckId::BLOCKERS, "release blockers (ergo)", format!("{e:#}")),
            }
        }
    });
    findings
}

/// Checks that the toolchain file's channel equals every `*RUST_TOOLCHAIN` pin in the listed
/// workflows (bug 42: the file overrides the workflow's `rustup default`, so they must agree).
pub fn toolchain(cx: &Context) -> Vec<Finding> {
    let Some(t) = &cx.policy.toolchain else {
        return vec![Finding::skipped(CheckId::TOOLCHAIN, "toolchain", "the policy has no [toolchain] section")];
    };
    let file = t.file.as_str();
    let channel = match std::fs::read_to_string(cx.repo.path(&t.file)) {
        Err(e) => return vec![Finding::fail(CheckId::TOOLCHAIN, file, format!("cannot read {file}: {e}"))],
        Ok(text) => match toml::from_str::<toml::Table>(&text) {
            Err(e) => {
                return vec![Finding::fail(CheckId::TOOLCHAIN, file, format!("{file} is not TOML: {}", e.message()))];
            }
            Ok(table) => {
                table.get("toolchain").and_then(|t| t.get("channel")).and_then(|c| c.as_str()).map(str::to_owned)
            }
        },
    };
    let Some(channel) = channel else {
        return vec![
            Finding::fail(CheckId::TOOLCHAIN, file, format!("{file} has no [toolchain] channel"))
                .with(Evidence::file(file)),
        ];
    };
    let mut findings = Vec::new();
    for wf in &t.workflows {
        let shown = wf.as_str();
        let text = match std::fs::read_to_string(cx.repo.path(wf)) {
            Ok(text) => text,
            Err(e) => {
                findings.push(Finding::fail(CheckId::TOOLCHAIN, shown, format!("cannot read {shown}: {e}")));
                continue;
            }
        };
        let pins = toolchain_pins(&text);
        if pins.is_empty() {
            findings.push(
                Finding::fail(
                    CheckId::TOOLCHAIN,
                    shown,
                    format!("{shown} has no RUST_TOOLCHAIN pin to compare with {file}"),
                )
                .with(Evidence::file(shown)),
            );
        }
        for (line, key, value) in pins {
            let subject = format!("{shown} {key}");
            findings.push(
                if value == channel {
                    Finding::pass(CheckId::TOOLCHAIN, subject, format!("{value}, as {file}"))
                } else {
                    Finding::fail(
                        CheckId::TOOLCHAIN,
                        subject,
                        format!("{key} is {value} but {file} says {channel}; the file wins for every cargo call"),
                    )
                }
                .with(Evidence::file_line(shown, line)),
            );
        }
    }
    if findings.is_empty() {
        findings.push(Finding::pass(
            CheckId::TOOLCHAIN,
            file,
            format!("channel {channel}; no workflows listed to compare"),
        ));
    }
    findings
}

/// `(line, key, value)` of every `XXX_RUST_TOOLCHAIN: value` / `=value` assignment in a
/// workflow, skipping expressions (`${{ ... }}`).
pub fn toolchain_pins(text: &str) -> Vec<(usize, String, String)> {
    let mut pins = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start_matches("export ");
        let Some(at) = trimmed.find([':', '=']) else { continue };
        let key = trimmed[..at].trim();
        if !key.ends_with("RUST_TOOLCHAIN") || key.contains(' ') {
            continue;
        }
        let value = trimmed[at + 1..].split('#').next().unwrap_or("").trim().trim_matches(['"', '\'']);
        if value.is_empty() || value.contains("${{") || value.contains('$') {
            continue;
        }
        pins.push((i + 1, key.to_string(), value.to_string()));
    }
    pins
}

/// A path relative to the repository root when it is inside it.
pub fn relative<'a>(repo: &Repo, path: &'a Utf8Path) -> &'a Utf8Path {
    path.strip_prefix(repo.root()).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_pins_are_read_from_workflows() {
        let text = "env:\n  RELEASE_RUST_TOOLCHAIN: \"1.88.0\"  # policy\njobs:\n  x:\n    steps:\n      - uses: dtolnay/rust-toolchain@stable\n        with:\n          toolchain: ${{ env.RELEASE_RUST_TOOLCHAIN }}\n      - run: echo RUST_TOOLCHAIN=$RELEASE_RUST_TOOLCHAIN\n";
        assert_eq!(toolchain_pins(text), vec![(2, "RELEASE_RUST_TOOLCHAIN".into(), "1.88.0".into())]);
        assert_eq!(toolchain_pins("  export RELEASE_RUST_TOOLCHAIN=1.89.0\n")[0].2, "1.89.0");
    }
}
