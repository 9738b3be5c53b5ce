//! `build` and `publish`: a workflow run found (or dispatched), waited for on the context's
//! clock, and recorded with its id, URL and conclusion; a failed run's failed jobs and the end
//! of their logs go into the record, and a blocker is offered (filed with `--file-blockers`).
//!
//! `publish` checks the build run's provenance first, dispatches the publish workflow with the
//! tag (with the build run id only for `--recover`) and, after a live publish, verifies every
//! channel. `--live` is refused unless the mode is live, `preflight` is ready and a rehearsal
//! of the same build run succeeded. A recovery re-dispatches for the same build run, never a
//! new tag, and is kept as an incident in the record.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::{Observer, Recorded, record};
use crate::{
    context::Context,
    duration,
    fetch::url_evidence,
    github::{self, GitHub, Job, Run},
    policy::BuildPolicy,
    report::{CheckId, Evidence, Finding, Report, Verdict},
    tail::Tail,
    target::ReleaseTarget,
};

/// Lines of a failed job's log kept in the record (its end: where jobs say why they failed).
pub const LOG_LINES: usize = 40;

/// How long to wait for a run, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Give up (Incomplete) after this long [default: 60m].
    pub timeout: Duration,
    /// Look this often [default: 20s].
    pub poll: Duration,
}

impl Default for Wait {
    fn default() -> Wait {
        Wait { timeout: Duration::from_secs(60 * 60), poll: Duration::from_secs(20) }
    }
}

/// `build vX.Y.Z [--timeout D] [--file-blockers]`.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The release (its tag must be pushed).
    pub target: ReleaseTarget,
    /// How long to wait for the run.
    pub wait: Wait,
    /// File a blocker for a failed run (else one is offered).
    pub file_blockers: bool,
}

/// What `build` or `publish` saw of its run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The report, recorded in the evidence.
    pub recorded: Recorded,
    /// The command that files the blocker, when the run failed and none was filed.
    pub offer: Option<String>,
    /// After a live publish: `verify --wait`.
    pub verified: Option<super::VerifyOutcome>,
}

/// A run as watched to its end (or to the timeout).
pub(super) struct Watched {
    run: Run,
    pub(super) jobs: Vec<Job>,
    timed_out: bool,
    elapsed: Duration,
}

pub(super) fn client<'a>(cx: &'a Context) -> anyhow::Result<GitHub<'a>> {
    let repo = cx.policy.project.github.as_deref().with_context(|| {
        format!("{}: the release workflows need `github = \"owner/repo\"` in [project]", cx.policy.path)
    })?;
    Ok(GitHub::new(&cx.http, cx.http.github_api(), repo))
}

fn build_policy(cx: &Context) -> anyhow::Result<&BuildPolicy> {
    cx.policy
        .build
        .as_ref()
        .with_context(|| format!("{}: `build` needs a [build] table naming the build workflow file", cx.policy.path))
}

/// Finds the build workflow's run for the tag (a tag push starts it), or dispatches it on the
/// tag; waits for it and records it.
pub fn build(cx: &Context, request: &BuildRequest, observer: &mut dyn Observer) -> anyhow::Result<RunOutcome> {
    let target = &request.target;
    let t = target.tag();
    let gh = client(cx)?;
    let workflow = build_policy(cx)?.workflow.clone();
    let check = CheckId::BUILD_RUN;
    let subject = format!("{workflow} on {t}");
    // Finding (or dispatching) the run and waiting for it: any step that cannot be done ends
    // the command with its finding.
    let reached = (|| -> Result<(Watched, bool), NoRun> {
        let existing = runs_of(&gh, &workflow, &t)?;
        let (run_id, dispatched) = match existing.first() {
            Some(run) => {
                observer.note(&format!("build: {workflow} run {} on {t} (started by the tag push)", run.id));
                (run.id, false)
            }
            None => {
                observer.note(&format!("build: no {workflow} run on {t}: dispatching it on the tag"));
                let mut inputs = serde_json::Map::new();
                inputs.insert("tag".into(), Value::String(t.clone()));
                (dispatch_and_find(cx, &gh, &workflow, &t, &inputs, &existing, request.wait)?, true)
            }
        };
        Ok((watch(cx, &gh, run_id, request.wait, "build", observer)?, dispatched))
    })();
    let (watched, dispatched) = match reached {
        Ok(reached) => reached,
        Err(f) => {
            let findings = vec![f.into_finding(&check, &subject)];
            return finish(cx, target, "build", findings, None, request.file_blockers);
        }
    };
    let mut findings = run_findings(&gh, &check, &subject, &watched);
    findings.extend(failed_jobs(&gh, &watched));
    let summary = summary(&watched, &workflow, dispatched, None);
    finish(cx, target, "build", findings, Some(summary), request.file_blockers)
}

/// Why a listing or a dispatch gave no run: a finding to make.
pub(super) enum NoRun {
    Fetch(github::FetchError),
    Refused(String),
    Unknown(String),
}

impl NoRun {
    pub(super) fn into_finding(self, check: &CheckId, subject: &str) -> Finding {
        match self {
            NoRun::Fetch(e) => {
                e.finding(check, subject, crate::fetch::Absent::Fail("the workflow file is not on GitHub"))
            }
            NoRun::Refused(why) => Finding::fail(check, subject, why),
            NoRun::Unknown(why) => Finding::incomplete(check, subject, why),
        }
    }
}

/// The runs of `workflow` on `branch` (a tag), newest first.
pub(super) fn runs_of(gh: &GitHub<'_>, workflow: &str, branch: &str) -> Result<Vec<Run>, NoRun> {
    let listed = gh.runs_on(workflow, branch).map_err(NoRun::Fetch)?;
    let mut runs: Vec<Run> = listed
        .items
        .into_iter()
        .filter(|r| r.is_of_workflow(workflow) && r.head_branch.as_deref() == Some(branch))
        .collect();
    runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(runs)
}

/// Dispatches `workflow` on `tag` and finds the run it started: GitHub's answer (204) names
/// none, so it is the newest `workflow_dispatch` run on the tag that was not there before.
pub(super) fn dispatch_and_find(
    cx: &Context,
    gh: &GitHub<'_>,
    workflow: &str,
    tag: &str,
    inputs: &serde_json::Map<String, Value>,
    before: &[Run],
    wait: Wait,
) -> Result<u64, NoRun> {
    let answer = gh.dispatch(workflow, tag, inputs).map_err(|e| NoRun::Unknown(format!("dispatch failed: {e:#}")))?;
    match answer.status {
        204 | 200 => {}
        403 => {
            let needs = answer.github.accepted_permissions.clone().unwrap_or_else(|| "actions=write".into());
            return Err(NoRun::Refused(format!(
                "GitHub refused to dispatch {workflow} (403): the token lacks {needs}; `cargo xtask release preflight` names what it may do"
            )));
        }
        status => {
            let message = answer.json::<Value>().ok().and_then(|v| v["message"].as_str().map(str::to_string));
            return Err(NoRun::Refused(format!(
                "GitHub refused to dispatch {workflow} on {tag} (HTTP {status}{})",
                message.map(|m| format!(": {m}")).unwrap_or_default()
            )));
        }
    }
    let started = cx.clock.instant();
    loop {
        let runs = runs_of(gh, workflow, tag)?;
        if let Some(run) = runs.iter().find(|r| r.event == "workflow_dispatch" && !before.iter().any(|b| b.id == r.id))
        {
            return Ok(run.id);
        }
        let elapsed = cx.clock.elapsed(started);
        if elapsed >= wait.timeout {
            return Err(NoRun::Unknown(format!(
                "{workflow} was dispatched on {tag}, but no new run appeared within {}",
                duration::format(wait.timeout)
            )));
        }
        cx.clock.sleep(wait.poll.min(wait.timeout - elapsed));
    }
}

/// Polls run `id` until it completes or `wait.timeout` passes, saying on the observer which
/// run, which jobs and their states, and the time elapsed.
pub(super) fn watch(
    cx: &Context,
    gh: &GitHub<'_>,
    id: u64,
    wait: Wait,
    label: &str,
    observer: &mut dyn Observer,
) -> Result<Watched, NoRun> {
    let started = cx.clock.instant();
    loop {
        let run = gh.run(&id.to_string()).map_err(NoRun::Fetch)?.doc;
        let jobs = gh.jobs(&id.to_string()).unwrap_or_default();
        let elapsed = cx.clock.elapsed(started);
        let states: Vec<String> =
            jobs.iter().map(|j| format!("{} {}", j.name, j.conclusion.as_deref().unwrap_or(&j.status))).collect();
        observer.waiting(&format!(
            "{label}: run {id} {} after {} ({}){}",
            run.conclusion.as_deref().unwrap_or(&run.status),
            duration::format(elapsed),
            run.html_url.as_deref().unwrap_or("no URL"),
            if states.is_empty() { String::new() } else { format!("; jobs: {}", states.join(", ")) }
        ));
        if run.status == "completed" {
            return Ok(Watched { run, jobs, timed_out: false, elapsed });
        }
        if elapsed >= wait.timeout {
            return Ok(Watched { run, jobs, timed_out: true, elapsed });
        }
        cx.clock.sleep(wait.poll.min(wait.timeout - elapsed));
    }
}

fn run_evidence(gh: &GitHub<'_>, run: &Run) -> Evidence {
    let fallback = format!("{}/actions/runs/{}", gh.repo_url(), run.id);
    url_evidence(run.html_url.as_deref().unwrap_or(&fallback), None)
}

pub(super) fn is_failed(job: &Job) -> bool {
    matches!(job.conclusion.as_deref(), Some("failure" | "timed_out" | "startup_failure" | "cancelled"))
}

pub(super) fn run_findings(gh: &GitHub<'_>, check: &CheckId, subject: &str, w: &Watched) -> Vec<Finding> {
    let ev = run_evidence(gh, &w.run);
    let id = w.run.id;
    let f = if w.timed_out {
        Finding::incomplete(
            check,
            subject,
            format!(
                "run {id} is still {} after {}: run the command again to keep waiting",
                w.run.status,
                duration::format(w.elapsed)
            ),
        )
    } else {
        match w.run.conclusion.as_deref() {
            Some("success") => Finding::pass(check, subject, format!("run {id} succeeded")),
            other => {
                let failed: Vec<&str> = w.jobs.iter().filter(|j| is_failed(j)).map(|j| j.name.as_str()).collect();
                Finding::fail(
                    check,
                    subject,
                    format!(
                        "run {id} ended {}{}",
                        other.unwrap_or("without a conclusion"),
                        if failed.is_empty() { String::new() } else { format!(": failed jobs {}", failed.join(", ")) }
                    ),
                )
            }
        }
    };
    vec![f.with(ev)]
}

/// One finding per failed job, with the end of its log (redacted when the report is recorded).
pub(super) fn failed_jobs(gh: &GitHub<'_>, w: &Watched) -> Vec<Finding> {
    w.jobs
        .iter()
        .filter(|j| is_failed(j))
        .map(|job| {
            let mut f = Finding::fail(
                CheckId::BUILD_JOB,
                format!("job {}", job.name),
                format!("{} in run {}", job.conclusion.as_deref().unwrap_or("failed"), w.run.id),
            );
            if let Some(url) = &job.html_url {
                f = f.with(url_evidence(url, None));
            }
            match gh.job_log(job.id) {
                Ok(r) => {
                    let mut tail = Tail::new(LOG_LINES, 8 * 1024);
                    crate::tail::read_lines(r.body.as_slice(), |line| {
                        tail.push(line);
                        true
                    });
                    let lines = tail.into_lines();
                    // The last lines that say something, in the detail (and so in a blocker's
                    // summary); the whole excerpt as evidence.
                    let last: Vec<&str> =
                        lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).rev().take(3).collect();
                    let last: Vec<&str> = last.into_iter().rev().collect();
                    f.detail = format!("{}; its log ends: {}", f.detail, last.join(" | "));
                    f.with(Evidence::note(format!("log (last lines):\n{}", lines.join("\n"))))
                }
                Err(e) => f.with(Evidence::note(format!(
                    "the log could not be read: {}",
                    e.detail(crate::fetch::Absent::Incomplete("no log"))
                ))),
            }
        })
        .collect()
}

pub(super) fn summary(w: &Watched, workflow: &str, dispatched: bool, extra: Option<Value>) -> Value {
    let jobs: Vec<Value> =
        w.jobs.iter().map(|j| json!({"name": j.name, "status": j.status, "conclusion": j.conclusion})).collect();
    let mut doc = json!({
        "workflow": workflow,
        "run_id": w.run.id.to_string(),
        "run_url": w.run.html_url,
        "status": w.run.status,
        "conclusion": w.run.conclusion,
        "event": w.run.event,
        "dispatched": dispatched,
        "elapsed_secs": w.elapsed.as_secs(),
        "jobs": jobs,
    });
    if let (Some(Value::Object(more)), Value::Object(map)) = (extra, &mut doc) {
        map.extend(more);
    }
    doc
}

/// Records the report (filing blockers when asked, else offering the command that does).
pub(super) fn finish(
    cx: &Context,
    target: &ReleaseTarget,
    command: &str,
    findings: Vec<Finding>,
    summary: Option<Value>,
    file_blockers: bool,
) -> anyhow::Result<RunOutcome> {
    let mut report = Report::new(command, Some(target.tag()), findings);
    report.summary = summary;
    let blocked = report.verdict == Verdict::Blocked;
    let mut offer = None;
    if blocked && file_blockers {
        report = crate::blockers::report::file_for_report(cx, report, target);
    } else if blocked {
        offer = Some(format!(
            "file the blocker: `cargo xtask release {command} {} --file-blockers` (it records the failed jobs and their log excerpts)",
            target.tag()
        ));
    }
    let recorded = record(cx, Some(target), report)?;
    Ok(RunOutcome { recorded, offer, verified: None })
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::{
        clock::Clock,
        env::Env,
        testing::{FakeRegistry, FixtureRepo, PublishedRelease, plasmite_manifest},
    };

    /// Everything the observer was told.
    #[derive(Default)]
    struct Said(Vec<String>);

    impl Observer for Said {
        fn note(&mut self, text: &str) {
            self.0.push(text.to_string());
        }
    }

    fn setup(schedule: (u32, u32)) -> (FakeRegistry, FixtureRepo, Context, crate::clock::ManualClock) {
        let fake = FakeRegistry::start(PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap()).unwrap();
        fake.update(|r| r.run_mut(2001).unwrap().schedule = Some(schedule));
        let repo =
            FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
        let clock = Clock::manual(UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let cx = Context::open(repo.root(), None)
            .unwrap()
            .with_env(Env::empty().with("GH_TOKEN", "t0ken"))
            .with_clock(clock)
            .with_http(crate::http::HttpConfig::fast(), crate::http::TokenSource::Discover);
        (fake, repo, cx, manual)
    }

    fn request(timeout: u64) -> BuildRequest {
        BuildRequest {
            target: ReleaseTarget::parse("v0.8.0").unwrap(),
            wait: Wait { timeout: Duration::from_secs(timeout), poll: Duration::from_secs(20) },
            file_blockers: false,
        }
    }

    #[test]
    fn the_wait_runs_on_the_contexts_clock_and_shows_the_run_and_its_jobs() {
        let (_fake, _repo, cx, manual) = setup((1, 2));
        let mut said = Said::default();
        let outcome = build(&cx, &request(3600), &mut said).unwrap();
        assert_eq!(outcome.recorded.report.verdict, Verdict::Ready, "{:#?}", outcome.recorded.report);
        // Queued once, running twice, then completed: three polls slept, no real time.
        assert_eq!(manual.sleeps(), vec![Duration::from_secs(20); 3]);
        let text = said.0.join("\n");
        assert!(text.contains("run 2001 queued after 0ms"), "{text}");
        assert!(text.contains("run 2001 in_progress after 20s"), "{text}");
        assert!(text.contains("jobs: release-context in_progress"), "{text}");
        assert!(text.contains("run 2001 success after 1m"), "{text}");
        let summary = outcome.recorded.report.summary.unwrap();
        assert_eq!(summary["run_id"], "2001");
        assert_eq!(summary["conclusion"], "success");
    }

    #[test]
    fn the_wait_is_bounded_by_its_timeout() {
        let (_fake, _repo, cx, manual) = setup((1000, 0));
        let outcome = build(&cx, &request(50), &mut Said::default()).unwrap();
        let report = outcome.recorded.report;
        assert_eq!(report.verdict, Verdict::Incomplete, "{report:#?}");
        assert!(report.findings[0].detail.contains("still queued after 50s"), "{:?}", report.findings[0]);
        assert_eq!(manual.elapsed(), Duration::from_secs(50), "never past the timeout");
    }
}
