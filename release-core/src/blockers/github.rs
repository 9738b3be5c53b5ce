//! GitHub issues as the blocker tracker (`[blockers] tracker = "github"`, repository
//! `[project] github`; registry-apis §4.11).
//!
//! There is no epic: one label, [`LABEL`], marks every blocker, and the title prefix
//! `[release-blocker][vX.Y.Z] ` says which release it blocks. Before filing, every open issue
//! with the label is listed (all pages, up to [`github::MAX_PAGES`]); pull requests,
//! which GitHub lists among issues, are dropped; an open issue with exactly the same title
//! means the blocker is already tracked, and nothing is filed. A closed issue with the same title does not count:
//! the problem came back. The POST is never retried (it may have created the issue); the
//! de-duplication makes a re-run safe instead.
//!
//! [`github::MAX_PAGES`]: crate::github::MAX_PAGES
//!
//! Also here: reading a workflow run for `blocker --run-id` (its URL and the names of its
//! failed jobs), and the tracker half of the `blockers` QA gate.

use serde::Deserialize;

use super::{Blocker, CHECK};
pub use crate::github::{Issue, Job, Label};
use crate::{
    fetch::{Absent, FetchError, url_evidence},
    github::GitHub,
    http::Http,
    policy::Policy,
    redact::Redactor,
    report::CheckId,
    report::Evidence,
    report::Finding,
    report::Outcome,
    target::ReleaseTarget,
};

/// The label every blocker issue carries.
pub const LABEL: &str = "release-blocker";

/// Job conclusions that make a job "failed": `failure`, `timed_out` and `startup_failure`.
/// `cancelled` is left out on purpose (a failing matrix leg cancels its siblings, which did
/// nothing wrong), and so are `skipped`, `neutral`, `success` and jobs still running.
pub const FAILED_CONCLUSIONS: [&str; 3] = ["failure", "timed_out", "startup_failure"];

/// Where the token needs to be allowed to write, said in every "cannot file" finding.
const PERMISSION: &str = "a token with Issues: write on the repository (fine-grained token or app), `repo`/`public_repo` (classic token), or `permissions: issues: write` for GITHUB_TOKEN in Actions";

/// What a workflow run says about a blocker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDetails {
    /// The run's web page.
    pub html_url: Option<String>,
    /// Names of its failed jobs ([`failed_jobs`]).
    pub failed_jobs: Vec<String>,
}

/// `[release-blocker][vX.Y.Z] `: the start of every blocker title of `target`.
pub fn title_prefix(target: &ReleaseTarget) -> String {
    format!("[release-blocker][{}] ", target.tag())
}

/// `text` on one line with single spaces, as GitHub stores a title: titles are compared in
/// this form, so a stray space or newline never makes a duplicate.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Names of the jobs whose conclusion is in [`FAILED_CONCLUSIONS`], in the order listed.
pub fn failed_jobs(jobs: &[Job]) -> Vec<String> {
    jobs.iter()
        .filter(|j| j.conclusion.as_deref().is_some_and(|c| FAILED_CONCLUSIONS.contains(&c)))
        .map(|j| j.name.clone())
        .collect()
}

/// Why GitHub could not be read for a blocker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The policy has no `[project] github` (its path is kept for the evidence).
    NoProject {
        /// The policy file.
        policy: String,
    },
    /// A run id that is not a number.
    BadRunId,
    /// Reading failed (absent: not visible to the token).
    Fetch(FetchError),
}

impl ReadError {
    /// `Incomplete`, always: nothing here is decided by what could not be read.
    pub fn outcome(&self) -> Outcome {
        Outcome::Incomplete
    }

    /// What happened, in one sentence.
    pub fn detail(&self) -> String {
        match self {
            ReadError::NoProject { .. } => {
                "no `[project] github = \"owner/repo\"` in the policy: the GitHub tracker needs the repository"
                    .to_string()
            }
            ReadError::BadRunId => "a run id is a number".to_string(),
            ReadError::Fetch(e) => e.detail(Absent::NotVisible),
        }
    }

    /// The finding of `check` about `subject`, with `detail` said around [`ReadError::detail`].
    pub fn finding(&self, check: &CheckId, subject: &str, detail: impl FnOnce(String) -> String) -> Finding {
        let finding = Finding::new(check, subject, self.outcome(), detail(self.detail()));
        match self {
            ReadError::NoProject { policy } => finding.with(Evidence::file(policy.as_str())),
            ReadError::BadRunId => finding,
            ReadError::Fetch(e) => finding.with(e.evidence()),
        }
    }
}

/// The client of `[project] github`.
pub fn client<'a>(http: &'a Http, policy: &Policy) -> Result<GitHub<'a>, ReadError> {
    let repo =
        policy.project.github.as_deref().ok_or_else(|| ReadError::NoProject { policy: policy.path.to_string() })?;
    Ok(GitHub::new(http, http.github_api(), repo))
}

/// The open issues labelled [`LABEL`] (pull requests dropped), and the listing's first URL.
pub fn open_issues(gh: &GitHub<'_>) -> Result<(Vec<Issue>, String), FetchError> {
    let listed = gh.open_issues(LABEL)?;
    Ok((listed.items.into_iter().filter(|i| i.pull_request.is_none()).collect(), listed.url))
}

/// Files `blocker` as an issue (or, with `dry_run`, says what it would file). `Pass` when it
/// is filed, or when an open issue with the same title already tracks it (the blocker exists,
/// so it is tracked; the detail says "already filed" and names the issue). `Incomplete` when
/// the issues cannot be listed, there is no token, or GitHub refuses the issue.
pub fn file(http: &Http, policy: &Policy, blocker: &Blocker, redactor: &Redactor, dry_run: bool) -> Finding {
    let title = one_line(&redactor.redact(&blocker.task_title()));
    let subject = format!("github: {title}");
    let gh = match client(http, policy) {
        Ok(gh) => gh,
        Err(e) => return e.finding(&CHECK, &subject, |d| d),
    };
    let repo = gh.repo();
    let (open, listed) = match open_issues(&gh) {
        Ok(found) => found,
        Err(e) => {
            let token = if http.has_token() {
                String::new()
            } else {
                format!(" (no GitHub token is set: set GH_TOKEN or GITHUB_TOKEN to {PERMISSION})")
            };
            return ReadError::Fetch(e).finding(&CHECK, &subject, |d| {
                format!(
                    "cannot list the open {LABEL} issues, so the blocker was not filed (it could be a duplicate): {d}{token}"
                )
            });
        }
    };
    if let Some(existing) = open.iter().find(|i| one_line(&i.title) == title) {
        return Finding::pass(
            CHECK,
            subject,
            format!(
                "already filed: open issue #{} {} has this title; nothing filed",
                existing.number, existing.html_url
            ),
        )
        .with(url_evidence(&existing.html_url, None));
    }
    let url = gh.issues_url();
    if dry_run {
        let token = if http.has_token() { "" } else { " (no GitHub token: a real run would be incomplete)" };
        return Finding::pass(
            CHECK,
            subject,
            format!(
                "dry run: would file \"{title}\" in {repo} with label {LABEL}; no open issue has this title{token}"
            ),
        )
        .with(url_evidence(&listed, Some(200)));
    }
    if !http.has_token() {
        return Finding::incomplete(
            CHECK,
            subject,
            format!("no GitHub token, so nothing was filed: set GH_TOKEN or GITHUB_TOKEN (or `gh auth login`) to {PERMISSION}"),
        )
        .with(url_evidence(&url, None));
    }
    let body = serde_json::json!({"title": title, "body": blocker.body(redactor), "labels": [LABEL]});
    match gh.create_issue(&body) {
        Ok(r) => posted(&subject, repo, &url, r.status, &r.body, redactor),
        Err(e) => Finding::incomplete(
            CHECK,
            subject,
            format!(
                "GitHub did not answer ({}); the issue may or may not exist: check the {LABEL} issues, then re-run (a re-run does not file a duplicate)",
                redactor.redact(&format!("{e:#}"))
            ),
        )
        .with(url_evidence(&url, None)),
    }
}

#[derive(Deserialize)]
struct Created {
    number: u64,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    labels: Vec<Label>,
}

/// The finding for GitHub's answer to the POST (pure, so every status is tested).
pub fn posted(subject: &str, repo: &str, url: &str, status: u16, body: &[u8], redactor: &Redactor) -> Finding {
    let ev = url_evidence(url, Some(status));
    // GitHub's own words ("Validation Failed", the errors), which the maintainer needs.
    let said = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .map(|v| {
            let mut s = v["message"].as_str().unwrap_or("").to_string();
            if let Some(errors) = v["errors"].as_array().filter(|e| !e.is_empty()) {
                s += &format!(" {}", serde_json::Value::Array(errors.clone()));
            }
            redactor.redact(s.trim())
        })
        .filter(|s| !s.is_empty())
        .map(|s| format!(" (GitHub: {s})"))
        .unwrap_or_default();
    let incomplete = |why: String| Finding::incomplete(CHECK, subject, format!("{why}{said}")).with(ev.clone());
    match status {
        201 => match serde_json::from_slice::<Created>(body) {
            Ok(c) if c.labels.iter().any(|l| l.name == LABEL) => {
                Finding::pass(CHECK, subject, format!("filed issue #{} {}", c.number, c.html_url))
                    .with(url_evidence(&c.html_url, Some(201)))
            }
            Ok(c) => Finding::incomplete(
                CHECK,
                subject,
                format!(
                    "filed issue #{} {} but GitHub dropped the label {LABEL} (the token may not create labels): add the label to the issue by hand, or create the label in {repo}; without it neither qa nor a re-run sees this blocker",
                    c.number, c.html_url
                ),
            )
            .with(url_evidence(&c.html_url, Some(201))),
            Err(e) => incomplete(format!(
                "HTTP 201 but the answer is unreadable ({e}); the issue probably exists: check the {LABEL} issues of {repo}"
            )),
        },
        401 => incomplete(format!("HTTP 401: the token was refused (invalid or expired); nothing was filed. Use {PERMISSION}")),
        403 | 429 if said.to_ascii_lowercase().contains("rate limit") || status == 429 => incomplete(format!(
            "HTTP {status}: GitHub's rate limit refused the issue (issue creation counts against 80 per minute and 500 per hour); wait, then re-run"
        )),
        403 => incomplete(format!("HTTP 403: the token may not file issues in {repo}; nothing was filed. Use {PERMISSION}")),
        404 => incomplete(format!(
            "HTTP 404: {repo} is not found or not visible to the token (GitHub answers 404 for private repositories without access); check `[project] github` and the token's repository access"
        )),
        410 => incomplete(format!(
            "HTTP 410: issues are disabled on {repo}; nothing was filed. Enable Issues in the repository settings, or set `[blockers] tracker` to \"ergo\" or \"none\" (the evidence record keeps the blocker either way)"
        )),
        422 => incomplete(
            "HTTP 422: GitHub refused the issue as invalid; nothing was filed. Fix what it names and re-run".to_string(),
        ),
        s if s >= 500 => incomplete(format!(
            "HTTP {s}: GitHub failed; the issue may or may not exist (a POST is not retried): check the {LABEL} issues, then re-run (a re-run does not file a duplicate)"
        )),
        s => incomplete(format!("unexpected HTTP {s}; nothing is known to be filed")),
    }
}

/// Reads workflow run `run_id` of the project: its web page and the names of its failed jobs
/// (latest attempt, every page of jobs).
pub fn read_run(http: &Http, policy: &Policy, run_id: &str) -> Result<RunDetails, ReadError> {
    let gh = client(http, policy)?;
    if run_id.is_empty() || !run_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReadError::BadRunId);
    }
    let run = gh.run(run_id).map_err(ReadError::Fetch)?;
    let jobs = gh.jobs(run_id).map_err(ReadError::Fetch)?;
    Ok(RunDetails { html_url: run.doc.html_url, failed_jobs: failed_jobs(&jobs) })
}

/// The tracker half of the `blockers` gate: open issues labelled [`LABEL`] whose title starts
/// with the target's prefix. `Fail` listing them (their URLs as evidence), `Pass` when there
/// are none, `Incomplete` when the issues cannot be read.
pub fn gate(http: &Http, policy: &Policy, target: &ReleaseTarget, check: &CheckId) -> Finding {
    let subject = "release blockers (GitHub issues)";
    let prefix = title_prefix(target);
    let read = client(http, policy).and_then(|gh| open_issues(&gh).map_err(ReadError::Fetch));
    let (open, listed) = match read {
        Ok(found) => found,
        Err(e) => return e.finding(check, subject, |d| d),
    };
    let mine: Vec<&Issue> = open.iter().filter(|i| one_line(&i.title).starts_with(&prefix)).collect();
    if mine.is_empty() {
        return Finding::pass(
            check,
            subject,
            format!(
                "no open {LABEL} issue titled \"{}...\" ({} open {LABEL} issue(s) in all)",
                prefix.trim_end(),
                open.len()
            ),
        )
        .with(url_evidence(&listed, Some(200)));
    }
    let list: Vec<String> = mine.iter().map(|i| format!("#{} {}", i.number, i.title)).collect();
    let mut finding = Finding::new(
        check,
        subject,
        Outcome::Fail,
        format!("{} open blocker issue(s): {}; close them when resolved", mine.len(), list.join("; ")),
    );
    for i in mine {
        finding = finding.with(url_evidence(&i.html_url, None));
    }
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, conclusion: Option<&str>) -> Job {
        Job { name: name.into(), conclusion: conclusion.map(Into::into), ..Job::default() }
    }

    #[test]
    fn failed_jobs_are_failure_timeout_and_startup_failure() {
        let jobs = [
            job("build (linux)", Some("failure")),
            job("build (mac)", Some("cancelled")),
            job("test", Some("timed_out")),
            job("lint", Some("success")),
            job("setup", Some("startup_failure")),
            job("docs", Some("skipped")),
            job("still running", None),
        ];
        assert_eq!(failed_jobs(&jobs), ["build (linux)", "test", "setup"]);
    }

    #[test]
    fn the_prefix_closes_the_bracket() {
        let t = ReleaseTarget::parse("v0.9.0").unwrap();
        let prefix = title_prefix(&t);
        assert_eq!(prefix, "[release-blocker][v0.9.0] ");
        assert!(!"[release-blocker][v0.9.0-rc.1] x".starts_with(&prefix), "an rc is another target");
        assert!(!"[release-blocker][v0.9.01] x".starts_with(&prefix));
        assert_eq!(one_line(" [release-blocker][v0.9.0]  two\nlines "), "[release-blocker][v0.9.0] two lines");
    }

    #[test]
    fn every_refusal_is_incomplete_and_says_what_to_do() {
        let at = |status: u16, body: &str| {
            posted("s", "o/r", "http://127.0.0.1/x", status, body.as_bytes(), &Redactor::default())
        };
        let created = r#"{"number": 7, "html_url": "https://github.example/o/r/issues/7", "labels": [{"name": "release-blocker"}]}"#;
        let f = at(201, created);
        assert_eq!(f.outcome, Outcome::Pass);
        assert!(f.detail.contains("#7"), "{}", f.detail);
        let unlabelled = at(201, r#"{"number": 8, "html_url": "u", "labels": []}"#);
        assert_eq!(unlabelled.outcome, Outcome::Incomplete, "a blocker qa cannot see is not tracked");
        assert!(unlabelled.detail.contains("dropped the label"), "{}", unlabelled.detail);
        for (status, body, needle) in [
            (201, "not json", "unreadable"),
            (401, r#"{"message":"Bad credentials"}"#, "Issues: write"),
            (403, r#"{"message":"Resource not accessible by integration"}"#, "Issues: write"),
            (403, r#"{"message":"You have exceeded a secondary rate limit."}"#, "rate limit"),
            (429, "", "rate limit"),
            (404, r#"{"message":"Not Found"}"#, "not visible"),
            (410, r#"{"message":"Issues are disabled for this repo"}"#, "issues are disabled"),
            (
                422,
                r#"{"message":"Validation Failed","errors":[{"field":"title","code":"missing_field"}]}"#,
                "missing_field",
            ),
            (502, "", "may or may not exist"),
            (302, "", "unexpected HTTP 302"),
        ] {
            let f = at(status, body);
            assert_eq!(f.outcome, Outcome::Incomplete, "{status}");
            assert!(f.detail.contains(needle), "{status}: {}", f.detail);
            assert!(f.evidence.iter().any(|e| matches!(e, Evidence::Url { .. })), "{status}");
        }
        let echoed = posted(
            "s",
            "o/r",
            "u",
            422,
            br#"{"message":"title has canary-secret-99"}"#,
            &Redactor::new(&["canary-secret-99".into()]),
        );
        assert!(!echoed.detail.contains("canary-secret-99"), "{}", echoed.detail);
    }
}
