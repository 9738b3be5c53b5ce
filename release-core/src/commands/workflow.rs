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
    evidence::{self, Decision, Mode, Record},
    fetch::url_evidence,
    github::{self, GitHub, Job, Run},
    policy::BuildPolicy,
    provenance::{self as build_provenance, Which},
    report::{CheckId, Evidence, Finding, Report, Verdict},
    tail::Tail,
    target::ReleaseTarget,
    verify,
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
struct Watched {
    run: Run,
    jobs: Vec<Job>,
    timed_out: bool,
    elapsed: Duration,
}

fn client<'a>(cx: &'a Context) -> anyhow::Result<GitHub<'a>> {
    let repo = cx.policy.project.github.as_deref().with_context(|| {
        format!("{}: the release workflows need `github = \"owner/repo\"` in [project]", cx.policy.path)
    })?;
    Ok(GitHub::new(&cx.http, &github::api_base(cx.policy.endpoints.github_api.as_deref()), repo))
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
    let existing = match runs_of(&gh, &workflow, &t) {
        Ok(runs) => runs,
        Err(f) => {
            return finish(cx, target, "build", vec![f.into_finding(&check, &subject)], None, request.file_blockers);
        }
    };
    let (run_id, dispatched) = match existing.first() {
        Some(run) => {
            observer.note(&format!("build: {workflow} run {} on {t} (started by the tag push)", run.id));
            (run.id, false)
        }
        None => {
            observer.note(&format!("build: no {workflow} run on {t}: dispatching it on the tag"));
            let mut inputs = serde_json::Map::new();
            inputs.insert("tag".into(), Value::String(t.clone()));
            match dispatch_and_find(cx, &gh, &workflow, &t, &inputs, &existing, request.wait) {
                Ok(id) => (id, true),
                Err(f) => {
                    return finish(
                        cx,
                        target,
                        "build",
                        vec![f.into_finding(&check, &subject)],
                        None,
                        request.file_blockers,
                    );
                }
            }
        }
    };
    let watched = match watch(cx, &gh, run_id, request.wait, "build", observer) {
        Ok(w) => w,
        Err(f) => {
            return finish(cx, target, "build", vec![f.into_finding(&check, &subject)], None, request.file_blockers);
        }
    };
    let mut findings = run_findings(&gh, &check, &subject, &watched);
    findings.extend(failed_jobs(&gh, &watched));
    let summary = summary(&watched, &workflow, dispatched, None);
    finish(cx, target, "build", findings, Some(summary), request.file_blockers)
}

/// Why a listing or a dispatch gave no run: a finding to make.
enum NoRun {
    Fetch(github::FetchError),
    Refused(String),
    Unknown(String),
}

impl NoRun {
    fn into_finding(self, check: &CheckId, subject: &str) -> Finding {
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
fn runs_of(gh: &GitHub<'_>, workflow: &str, branch: &str) -> Result<Vec<Run>, NoRun> {
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
fn dispatch_and_find(
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
fn watch(
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

fn is_failed(job: &Job) -> bool {
    matches!(job.conclusion.as_deref(), Some("failure" | "timed_out" | "startup_failure" | "cancelled"))
}

fn run_findings(gh: &GitHub<'_>, check: &CheckId, subject: &str, w: &Watched) -> Vec<Finding> {
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
fn failed_jobs(gh: &GitHub<'_>, w: &Watched) -> Vec<Finding> {
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

fn summary(w: &Watched, workflow: &str, dispatched: bool, extra: Option<Value>) -> Value {
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
fn finish(
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

/// `publish vX.Y.Z --rehearsal|--live [--recover]`.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// A live publish (else a rehearsal: everything but the registries and the release).
    pub live: bool,
    /// Re-dispatch for the build run of the last failed publish of this release (its id goes
    /// to the workflow as `build_run_id`); recorded as an incident.
    pub recover: bool,
    /// How long to wait for the run.
    pub wait: Wait,
    /// After a live publish: how long `verify` waits for every channel.
    pub verify_wait: Duration,
    /// File a blocker for a failed run (else one is offered).
    pub file_blockers: bool,
}

/// A previous publish of this release, as the record keeps it.
fn publishes(record: &Record) -> impl Iterator<Item = (&evidence::Entry, &Value)> {
    record
        .entries
        .iter()
        .filter(|e| e.report.command == "publish")
        .filter_map(|e| e.report.summary.as_ref().map(|s| (e, s)))
}

/// Why a publish may not be dispatched now; empty when it may. Shared with `next`.
pub(crate) fn publish_refusals(record: Option<&Record>, build_run: &str, live: bool, recover: bool) -> Vec<String> {
    let Some(record) = record else { return vec!["no evidence record: start one with `evidence`".into()] };
    let mut why = Vec::new();
    let t = &record.target;
    if live {
        if record.mode != Mode::Live {
            why.push(format!(
                "the record's mode is {}: only a live release publishes live (a dry run ends after the rehearsal)",
                record.mode.as_str()
            ));
        }
        match record.latest("preflight") {
            Some(e) if e.report.verdict == Verdict::Ready => {}
            Some(e) => why.push(format!(
                "the last preflight is {}: fix what it reports, then `cargo xtask release preflight {t} --live`",
                e.report.verdict
            )),
            None => why.push(format!("preflight never ran: `cargo xtask release preflight {t} --live`")),
        }
        let rehearsed = publishes(record).any(|(e, s)| {
            s["rehearsal"] == true && s["build_run_id"] == build_run && e.report.verdict == Verdict::Ready
        });
        if !rehearsed {
            why.push(format!(
                "no successful rehearsal of build run {build_run}: `cargo xtask release publish {t} --rehearsal` first"
            ));
        }
    }
    if recover {
        let failed = publishes(record)
            .filter(|(_, s)| s["build_run_id"] == build_run && s["rehearsal"] == !live)
            .last()
            .is_some_and(|(e, _)| e.report.verdict != Verdict::Ready);
        if !failed {
            why.push(format!(
                "nothing to recover: the last {} publish of build run {build_run} did not fail",
                if live { "live" } else { "rehearsal" }
            ));
        }
    }
    why
}

/// Checks provenance, dispatches the publish workflow, waits and records; after a live
/// publish, verifies every channel.
pub fn publish(cx: &Context, request: &PublishRequest, observer: &mut dyn Observer) -> anyhow::Result<RunOutcome> {
    let target = &request.target;
    let t = target.tag();
    let gh = client(cx)?;
    let workflow = cx.policy.release.publish_workflow.clone().with_context(|| {
        format!("{}: `publish` needs `[release] publish_workflow` (the publish workflow file)", cx.policy.path)
    })?;
    let kind = if request.live { "live" } else { "rehearsal" };
    // Provenance first: the build run a publish would use, proven (and recorded).
    observer.note(&format!("publish: proving the build run of {t} first (provenance)"));
    let proven = build_provenance::check(cx, &Which::Tag(target.clone()), None)?;
    let build_run = proven.summary.as_ref().and_then(|s| s["run_id"].as_str()).unwrap_or_default().to_string();
    let proven_ok = proven.verdict == Verdict::Ready;
    let proven_words = proven.verdict.to_string();
    record(cx, Some(target), proven)?;
    let mut why = Vec::new();
    if !proven_ok || build_run.is_empty() {
        why.push(format!(
            "the build run's provenance is {proven_words}: `cargo xtask release provenance --tag {t}` says why; rebuild the tag, never re-tag"
        ));
    }
    let record_now = evidence::load(&cx.repo, target)?;
    why.extend(publish_refusals(record_now.as_ref(), &build_run, request.live, request.recover));
    let check = CheckId::PUBLISH_RUN;
    let subject = format!("{workflow} {kind} of {t}");
    if !why.is_empty() {
        let findings = why.into_iter().map(|w| Finding::fail(CheckId::PUBLISH_REFUSED, &subject, w)).collect();
        let extra = json!({"rehearsal": !request.live, "build_run_id": build_run, "refused": true});
        return finish(cx, target, "publish", findings, Some(extra), false);
    }
    let mut inputs = serde_json::Map::new();
    inputs.insert("rehearsal".into(), Value::String((!request.live).to_string()));
    if request.recover {
        // The recovery path of the workflow: the same build run, never a new tag.
        inputs.insert("build_run_id".into(), Value::String(build_run.clone()));
        incident(
            cx,
            target,
            &format!(
                "recovery: {kind} publish re-dispatched for build run {build_run} (the same tag, never a new one) after a failed publish"
            ),
        )?;
    } else {
        inputs.insert("release_tag".into(), Value::String(t.clone()));
    }
    let before = runs_of(&gh, &workflow, &t).unwrap_or_default();
    observer.note(&format!("publish: dispatching {workflow} ({kind}) for build run {build_run}"));
    let extra = json!({"rehearsal": !request.live, "build_run_id": build_run, "recover": request.recover});
    let run_id = match dispatch_and_find(cx, &gh, &workflow, &t, &inputs, &before, request.wait) {
        Ok(id) => id,
        Err(f) => {
            return finish(
                cx,
                target,
                "publish",
                vec![f.into_finding(&check, &subject)],
                Some(extra),
                request.file_blockers,
            );
        }
    };
    let watched = match watch(cx, &gh, run_id, request.wait, "publish", observer) {
        Ok(w) => w,
        Err(f) => {
            return finish(
                cx,
                target,
                "publish",
                vec![f.into_finding(&check, &subject)],
                Some(extra),
                request.file_blockers,
            );
        }
    };
    let mut findings = run_findings(&gh, &check, &subject, &watched);
    findings.extend(failed_jobs(&gh, &watched));
    if watched.jobs.iter().any(|j| is_failed(j) && j.name.starts_with("sync-homebrew-tap")) {
        findings.push(Finding::fail(
            CheckId::PUBLISH_RUN,
            "sync-homebrew-tap",
            format!(
                "the tap job failed: check HOMEBREW_TAP_TOKEN (`cargo xtask release preflight {t} --live`), fix it, then `cargo xtask release publish {t} --{} --recover` (the same build run {build_run})",
                if request.live { "live" } else { "rehearsal" }
            ),
        ));
    }
    let summary = summary(&watched, &workflow, true, Some(extra));
    let mut outcome = finish(cx, target, "publish", findings, Some(summary), request.file_blockers)?;
    if request.live && outcome.recorded.report.verdict == Verdict::Ready {
        observer.note(&format!(
            "publish: live publish done; verifying every channel (up to {})",
            duration::format(request.verify_wait)
        ));
        let verify_request = super::VerifyRequest {
            target: target.clone(),
            options: verify::Options { wait: Some(request.verify_wait), ..verify::Options::default() },
            file_blockers: request.file_blockers,
            http: super::HttpLimits::default(),
        };
        let verified = super::verify(cx, &verify_request)?;
        if let Some(partial) = &verified.partial_publish {
            incident(
                cx,
                target,
                &format!(
                    "partial publish of build run {build_run}: {}; recovery: `cargo xtask release publish {t} --live --recover` (the same build run, never a new tag)",
                    partial.recovery
                ),
            )?;
        }
        outcome.verified = Some(verified);
    }
    Ok(outcome)
}

/// Keeps an incident in the record's decisions.
fn incident(cx: &Context, target: &ReleaseTarget, text: &str) -> anyhow::Result<()> {
    let now = cx.clock.timestamp();
    evidence::update(&cx.repo, target, &cx.clock, |record| {
        let record = record.get_or_insert_with(|| Record::unset(target, &now));
        record.decisions.push(Decision {
            timestamp: now.clone(),
            kind: "incident".into(),
            check: Some("publish".into()),
            text: text.to_string(),
            commit: None,
            by: record.agent.clone(),
        });
        Ok(())
    })
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
