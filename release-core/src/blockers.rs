//! Release blockers: a failed or incomplete gate becomes tracked work.
//!
//! A [`Blocker`] renders the body of the existing blocker template (Goal, Background /
//! Rationale, Acceptance Criteria, Automated Validation Gates, Consult Me), redacted of
//! secrets. [`file()`] sends it to the policy's tracker: [`ergo`] (the current ergo CLI, facts
//! §13: one epic per target, found by exact title) or [`github`] (issues labelled
//! `release-blocker`); neither files a second blocker with the same title while one is open.
//! [`record`] keeps it in the evidence record, [`close`] closes it there, [`enrich`] adds
//! what a workflow run says, and [`report`] turns a report's failed findings into blockers.

pub mod ergo;
pub mod github;
pub mod report;

use anyhow::bail;

use crate::{
    clock::Clock,
    context::Context,
    env::Env,
    evidence,
    policy::Tracker,
    redact::Redactor,
    repo::Repo,
    report::CheckId,
    report::{Finding, Outcome},
    target::ReleaseTarget,
};

/// Check id used in findings.
pub const CHECK: CheckId = CheckId::BLOCKER;

/// The headings of the blocker template, in the order the blocker body writes them (kept
/// from the scripts' template, so tracker searches and habits still work).
pub const SECTIONS: [&str; 5] = [
    "## Goal",
    "## Background / Rationale",
    "## Acceptance Criteria",
    "## Automated Validation Gates",
    "## Consult Me",
];

/// Longest log excerpt kept in a blocker body, in lines and in characters.
const EXCERPT_LINES: usize = 30;
const EXCERPT_CHARS: usize = 4000;

/// One blocker, before it is filed anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// The release it blocks.
    pub target: ReleaseTarget,
    /// The gate that failed or was incomplete.
    pub check: String,
    /// Short title, without the `[release-blocker][vX.Y.Z]` prefix.
    pub title: String,
    /// What happened, in a sentence or two.
    pub summary: String,
    /// The workflow run it came from, if any.
    pub run_id: Option<String>,
    /// That run's URL.
    pub run_url: Option<String>,
    /// Names of the run's failed jobs.
    pub failed_jobs: Vec<String>,
    /// The command that failed.
    pub failing_command: Option<String>,
    /// The end of the failing log (already cut by [`log_excerpt`]).
    pub log_excerpt: Option<String>,
    /// Why the run's details could not be read, when `run_id` was given and they could not.
    pub run_unreadable: Option<String>,
    /// Who filed it (`model@host`, a name); kept in the body and the evidence record (the
    /// script took `--agent` and dropped it: bug 36). The tracker item is not claimed for them.
    pub agent: Option<String>,
}

impl Blocker {
    /// A blocker with no run, command or log attached.
    pub fn new(target: ReleaseTarget, check: &str, title: &str, summary: &str) -> Blocker {
        Blocker {
            target,
            check: check.to_string(),
            title: title.to_string(),
            summary: summary.to_string(),
            run_id: None,
            run_url: None,
            failed_jobs: Vec::new(),
            failing_command: None,
            log_excerpt: None,
            run_unreadable: None,
            agent: None,
        }
    }

    /// The same blocker with every secret masked in its title, summary, run URL, failing
    /// command and log excerpt, so that nothing derived from it (tracker, evidence, output)
    /// can carry one.
    pub fn redacted(mut self, redactor: &Redactor) -> Blocker {
        let mask = |s: &mut String| *s = redactor.redact(s);
        mask(&mut self.title);
        mask(&mut self.summary);
        for s in [
            &mut self.run_url,
            &mut self.failing_command,
            &mut self.log_excerpt,
            &mut self.run_unreadable,
            &mut self.agent,
        ]
        .into_iter()
        .flatten()
        {
            mask(s);
        }
        self
    }

    /// `Release blockers: vX.Y.Z`: the epic (or label group) of the target.
    pub fn epic_title(&self) -> String {
        format!("Release blockers: {}", self.target.tag())
    }

    /// `[release-blocker][vX.Y.Z] <title>`: the task title, also the de-duplication key.
    pub fn task_title(&self) -> String {
        format!("[release-blocker][{}] {}", self.target.tag(), self.title)
    }

    /// The task body in the template's sections, with every secret masked.
    pub fn body(&self, redactor: &Redactor) -> String {
        let tag = self.target.tag();
        let (rerun, all) = self.rerun_commands();
        let mut context = format!(
            "Release target: {tag}\nGate that failed or was incomplete: {}\nSummary: {}\n",
            self.check, self.summary
        );
        if let Some(agent) = &self.agent {
            context += &format!("Filed by: {agent}\n");
        }
        if let Some(id) = &self.run_id {
            context += &format!("Run ID: {id}\n");
        }
        if let Some(url) = &self.run_url {
            context += &format!("Run URL: {url}\n");
        }
        if !self.failed_jobs.is_empty() {
            context += &format!("Failed jobs: {}\n", self.failed_jobs.join(", "));
        }
        if let Some(why) = &self.run_unreadable {
            context += &format!("Run details could not be read (run URL and failed jobs unknown): {why}\n");
        }
        if let Some(cmd) = &self.failing_command {
            context += &format!("Failing command: `{cmd}`\n");
        }
        if let Some(log) = &self.log_excerpt {
            context += &format!("\nLog excerpt:\n\n```\n{log}\n```\n");
        }
        let check = &self.check;
        let sections = [
            format!("Resolve release blocker `{check}` for {tag}.\n"),
            context,
            format!(
                "- The root cause is fixed, or explicitly accepted by the maintainer with a rationale.\n\
                 - The `{check}` gate is re-run and passes, with evidence recorded.\n\
                 - Docs and release notes are updated if behaviour or policy changed.\n"
            ),
            format!("- Re-run gate: `{check}` (`{rerun}`)\n- `{all}`\n"),
            "Stop and ask the maintainer if the fix changes public CLI, API or binding behaviour, or the release scope.\n"
                .to_string(),
        ];
        let body: String =
            SECTIONS.iter().zip(&sections).map(|(heading, text)| format!("{heading}\n\n{text}\n")).collect();
        let body = body.strip_suffix('\n').unwrap_or(&body).to_string();
        redactor.redact(&body)
    }

    /// The command that re-runs this blocker's check, and the one that re-runs all of its
    /// kind: `verify --channels <channel>` and `verify` for a `verify.<channel>...` check,
    /// `qa --only <check>` and `qa` for anything else (a gate).
    pub fn rerun_commands(&self) -> (String, String) {
        let tag = self.target.tag();
        match self.check.strip_prefix("verify.") {
            Some(rest) => {
                let channel = rest.split('.').next().unwrap_or(rest);
                (
                    format!("cargo xtask release verify {tag} --channels {channel}"),
                    format!("cargo xtask release verify {tag}"),
                )
            }
            None => {
                (format!("cargo xtask release qa {tag} --only {}", self.check), format!("cargo xtask release qa {tag}"))
            }
        }
    }
}

/// How to file: the ergo program to run (for the ergo tracker), secrets to mask, and whether
/// to only say what would be done.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// The ergo executable (`ergo` on PATH by default).
    pub ergo: String,
    /// Masks secrets in everything filed: the one [`Redactor`], of the environment's secrets.
    pub redactor: Redactor,
    /// Create nothing; say what would be created.
    pub dry_run: bool,
    /// Who files: set on each blocker filed from a report (`--file-blockers`).
    pub agent: Option<String>,
}

impl FileOptions {
    /// `ergo` on PATH, the secrets set in `env`, filing for real, no agent.
    pub fn new(env: &Env) -> FileOptions {
        FileOptions { ergo: "ergo".into(), redactor: Redactor::from_env(env), dry_run: false, agent: None }
    }
}

/// Who files a blocker for `target`: `given` (`--agent`), else the agent of its evidence record.
pub fn agent(repo: &Repo, target: &ReleaseTarget, given: Option<String>) -> Option<String> {
    given.filter(|a| !a.trim().is_empty()).or_else(|| evidence::load(repo, target).ok().flatten().and_then(|r| r.agent))
}

/// Files `blocker` in the policy's tracker and returns what happened as a finding. The GitHub
/// tracker uses the context's HTTP client (and its token).
pub fn file(cx: &Context, blocker: &Blocker, options: &FileOptions) -> Finding {
    match cx.policy.blockers.tracker {
        Tracker::Ergo => {
            ergo::Ergo::new(&options.ergo, cx.repo.root()).file(blocker, &options.redactor, options.dry_run)
        }
        Tracker::Github => github::file(&cx.http, &cx.policy, blocker, &options.redactor, options.dry_run),
        Tracker::None => Finding::skipped(
            CHECK,
            format!("tracker: {}", options.redactor.redact(&blocker.task_title())),
            format!("{}: [blockers] tracker is \"none\"", cx.policy.path),
        ),
    }
}

/// With `blocker.run_id` set, reads that workflow run of `[project] github` (whatever the
/// tracker): fills `run_url` when it is not set, and `failed_jobs` (see
/// [`github::FAILED_CONCLUSIONS`]). Returns `None` without a run id; else a `Pass` finding
/// naming what was read, or an `Incomplete` one saying why the run could not be read. In
/// that case the blocker is still to be filed: its body says the run details are unknown
/// (`run_unreadable`), where the old script silently dropped them.
pub fn enrich(cx: &Context, blocker: &mut Blocker) -> Option<Finding> {
    let run_id = blocker.run_id.clone()?;
    let subject = format!("workflow run {run_id}");
    let finding = match github::read_run(&cx.http, &cx.policy, &run_id) {
        Ok(run) => {
            if blocker.run_url.is_none() {
                blocker.run_url = run.html_url.clone();
            }
            blocker.failed_jobs = run.failed_jobs;
            let jobs = if blocker.failed_jobs.is_empty() {
                "no failed job".to_string()
            } else {
                format!("failed job(s): {}", blocker.failed_jobs.join(", "))
            };
            let mut f = Finding::pass(CHECK, subject, format!("read the run: {jobs}"));
            if let Some(url) = &blocker.run_url {
                f = f.with(crate::fetch::url_evidence(url, None));
            }
            f
        }
        Err(e) => {
            blocker.run_unreadable = Some(e.detail());
            e.finding(&CHECK, &subject, |d| {
                format!("the run's details could not be read, so the blocker is filed without them: {d}")
            })
        }
    };
    Some(finding)
}

/// Records `blocker` in the evidence record of its target, with where the tracker filed it
/// (`filed` is the tracker's finding). A blocker already open there with the same check and
/// title is not added twice. Returns the record's blocker id (`B1`...).
pub fn record(repo: &Repo, blocker: &Blocker, filed: &Finding, clock: &Clock) -> anyhow::Result<String> {
    let now = clock.timestamp();
    let external = match &filed.outcome {
        Outcome::Pass => Some(format!("{}: {}", filed.subject, filed.detail)),
        _ => None,
    };
    evidence::update(repo, &blocker.target, clock, |existing| {
        let record = match existing {
            Some(r) => r,
            None => existing.insert(evidence::Record::unset(&blocker.target, &now)),
        };
        if let Some(open) = record
            .blockers
            .iter_mut()
            .find(|b| b.closed.is_none() && b.check == blocker.check && b.title == blocker.title)
        {
            if open.external.is_none() {
                open.external = external;
            }
            return Ok(open.id.clone());
        }
        let id = format!("B{}", record.blockers.len() + 1);
        record.blockers.push(evidence::Blocker {
            id: id.clone(),
            check: blocker.check.clone(),
            title: blocker.title.clone(),
            summary: blocker.summary.clone(),
            opened: now.clone(),
            closed: None,
            external,
            filed_by: blocker.agent.clone(),
        });
        Ok(id)
    })
}

/// Closes blocker `id` in the evidence record of `target` and keeps `reason` as a decision
/// note, in one locked update. The tracker's item (ergo task, GitHub issue) is not touched:
/// it is closed in the tracker. An unknown id, an already closed blocker or an empty reason is
/// an error. Returns the closed blocker.
pub fn close(
    repo: &Repo,
    target: &ReleaseTarget,
    id: &str,
    reason: &str,
    clock: &Clock,
) -> anyhow::Result<evidence::Blocker> {
    let reason = reason.trim();
    if reason.is_empty() {
        bail!("closing {id} needs a reason: --close {id} --reason \"why it no longer blocks\"");
    }
    let now = clock.timestamp();
    let path = evidence::json_path(repo, target);
    evidence::update(repo, target, clock, |existing| {
        let Some(record) = existing.as_mut() else {
            bail!("{path} does not exist: there is no blocker {id} of {} to close", target.tag());
        };
        let Some(b) = record.blockers.iter_mut().find(|b| b.id == id) else {
            let ids: Vec<&str> = record.blockers.iter().map(|b| b.id.as_str()).collect();
            bail!(
                "{path} has no blocker {id} (it has: {})",
                if ids.is_empty() { "none".into() } else { ids.join(", ") }
            );
        };
        if let Some(when) = &b.closed {
            bail!("blocker {id} of {} was already closed at {when}", target.tag());
        }
        b.closed = Some(now.clone());
        let closed = b.clone();
        record.decisions.push(evidence::Decision {
            timestamp: now.clone(),
            kind: "note".into(),
            check: Some(closed.check.clone()),
            text: format!("closed blocker {id} ({}): {reason}", closed.title),
            commit: None,
            by: None,
        });
        Ok(closed)
    })
}

/// The end of a log, where failures are: the last lines, capped in size, secrets masked.
pub fn log_excerpt(log: &str, redactor: &Redactor) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(EXCERPT_LINES)..].join("\n");
    let start = tail.len().saturating_sub(EXCERPT_CHARS);
    let start = (start..=tail.len()).find(|i| tail.is_char_boundary(*i)).unwrap_or(tail.len());
    redactor.redact(&tail[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_template_sections_and_no_secrets() {
        let mut b = Blocker::new(ReleaseTarget::parse("v0.9.0").unwrap(), "release-gate", "clippy fails", "lint");
        b.run_id = Some("42".into());
        b.failed_jobs = vec!["build (ubuntu)".into(), "test".into()];
        b.log_excerpt = Some("error: GH_TOKEN=canary-secret-123456 leaked".into());
        let body = b.body(&Redactor::new(&["canary-secret-123456".to_string()]));
        for heading in SECTIONS {
            assert!(body.contains(heading), "{heading} missing:\n{body}");
        }
        assert!(body.contains("Failed jobs: build (ubuntu), test"));
        assert!(!body.contains("canary-secret"), "{body}");
        assert_eq!(b.task_title(), "[release-blocker][v0.9.0] clippy fails");
        assert_eq!(b.epic_title(), "Release blockers: v0.9.0");
    }

    #[test]
    fn body_says_how_to_rerun_and_when_the_run_was_unreadable() {
        let t = ReleaseTarget::parse("v0.9.0").unwrap();
        let gate = Blocker::new(t.clone(), "release-gate", "t", "s");
        assert!(gate.body(&Redactor::default()).contains("`cargo xtask release qa v0.9.0 --only release-gate`"));
        let mut channel = Blocker::new(t, "verify.github.published", "t", "s");
        assert!(channel.body(&Redactor::default()).contains("`cargo xtask release verify v0.9.0 --channels github`"));
        channel.run_id = Some("7".into());
        channel.run_unreadable = Some("HTTP 404".into());
        assert!(
            channel
                .body(&Redactor::default())
                .contains("Run details could not be read (run URL and failed jobs unknown): HTTP 404")
        );
    }

    #[test]
    fn excerpt_keeps_the_end() {
        let log: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let ex = log_excerpt(&log, &Redactor::default());
        assert!(ex.starts_with("line 70") && ex.ends_with("line 99"), "{ex}");
        let long = "é".repeat(5000);
        assert!(log_excerpt(&long, &Redactor::default()).len() <= EXCERPT_CHARS);
    }
}
