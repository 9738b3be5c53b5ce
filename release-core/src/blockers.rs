//! Release blockers: a failed or incomplete gate becomes tracked work.
//!
//! A [`Blocker`] renders the body of the existing blocker template (Goal, Background /
//! Rationale, Acceptance Criteria, Automated Validation Gates, Consult Me), redacted of
//! secrets. [`ergo`] files it with the current ergo CLI (facts §13): one epic per target,
//! found by exact title, and no second task with the same title while one is open.

pub mod ergo;

use crate::{
    clock::Clock,
    evidence,
    outcome::{Finding, Outcome},
    policy::{Policy, Tracker},
    redact,
    repo::Repo,
    target::ReleaseTarget,
};

/// Check id used in findings.
pub const CHECK: &str = "blocker";

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
        }
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
    pub fn body(&self, secrets: &[String]) -> String {
        let tag = self.target.tag();
        let mut context = format!(
            "Release target: {tag}\nGate that failed or was incomplete: {}\nSummary: {}\n",
            self.check, self.summary
        );
        if let Some(id) = &self.run_id {
            context += &format!("Run ID: {id}\n");
        }
        if let Some(url) = &self.run_url {
            context += &format!("Run URL: {url}\n");
        }
        if !self.failed_jobs.is_empty() {
            context += &format!("Failed jobs: {}\n", self.failed_jobs.join(", "));
        }
        if let Some(cmd) = &self.failing_command {
            context += &format!("Failing command: `{cmd}`\n");
        }
        if let Some(log) = &self.log_excerpt {
            context += &format!("\nLog excerpt:\n\n```\n{log}\n```\n");
        }
        let body = format!(
            "## Goal\n\nResolve release blocker `{check}` for {tag}.\n\n\
             ## Background / Rationale\n\n{context}\n\
             ## Acceptance Criteria\n\n\
             - The root cause is fixed, or explicitly accepted by the maintainer with a rationale.\n\
             - The `{check}` gate is re-run and passes, with evidence recorded.\n\
             - Docs and release notes are updated if behaviour or policy changed.\n\n\
             ## Automated Validation Gates\n\n\
             - Re-run gate: `{check}` (`cargo xtask release qa {tag} --only {check}`)\n\
             - `cargo xtask release qa {tag}`\n\n\
             ## Consult Me\n\n\
             Stop and ask the maintainer if the fix changes public CLI, API or binding behaviour, or the release scope.\n",
            check = self.check,
        );
        redact::redact(&body, secrets)
    }
}

/// How to file: the ergo program to run, secrets to mask, and whether to only say what would
/// be done.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// The ergo executable (`ergo` on PATH by default).
    pub ergo: String,
    /// Secret values to mask in everything filed.
    pub secrets: Vec<String>,
    /// Create nothing; say what would be created.
    pub dry_run: bool,
}

impl Default for FileOptions {
    fn default() -> FileOptions {
        FileOptions { ergo: "ergo".into(), secrets: redact::secrets_from_env(), dry_run: false }
    }
}

/// Files `blocker` in the policy's tracker and returns what happened as a finding.
pub fn file(repo: &Repo, policy: &Policy, blocker: &Blocker, options: &FileOptions) -> Finding {
    match policy.blockers.tracker {
        Tracker::Ergo => ergo::Ergo::new(&options.ergo, repo.root()).file(blocker, &options.secrets, options.dry_run),
        Tracker::Github => Finding::incomplete(
            CHECK,
            format!("github: {}", blocker.task_title()),
            "filing blockers as GitHub issues is not implemented yet; file it by hand",
        ),
        Tracker::None => Finding::skipped(
            CHECK,
            format!("tracker: {}", blocker.task_title()),
            format!("{}: [blockers] tracker is \"none\"", policy.path),
        ),
    }
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
        });
        Ok(id)
    })
}

/// The end of a log, where failures are: the last lines, capped in size, secrets masked.
pub fn log_excerpt(log: &str, secrets: &[String]) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(EXCERPT_LINES)..].join("\n");
    let start = tail.len().saturating_sub(EXCERPT_CHARS);
    let start = (start..=tail.len()).find(|i| tail.is_char_boundary(*i)).unwrap_or(tail.len());
    redact::redact(&tail[start..], secrets)
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
        let body = b.body(&["canary-secret-123456".to_string()]);
        for heading in [
            "## Goal",
            "## Background / Rationale",
            "## Acceptance Criteria",
            "## Automated Validation Gates",
            "## Consult Me",
        ] {
            assert!(body.contains(heading), "{heading} missing:\n{body}");
        }
        assert!(body.contains("Failed jobs: build (ubuntu), test"));
        assert!(!body.contains("canary-secret"), "{body}");
        assert_eq!(b.task_title(), "[release-blocker][v0.9.0] clippy fails");
        assert_eq!(b.epic_title(), "Release blockers: v0.9.0");
    }

    #[test]
    fn excerpt_keeps_the_end() {
        let log: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let ex = log_excerpt(&log, &[]);
        assert!(ex.starts_with("line 70") && ex.ends_with("line 99"), "{ex}");
        let long = "é".repeat(5000);
        assert!(log_excerpt(&long, &[]).len() <= EXCERPT_CHARS);
    }
}
