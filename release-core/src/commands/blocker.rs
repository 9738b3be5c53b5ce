//! `blocker`: file one release blocker, or close one.

use anyhow::Context as _;
use camino::Utf8PathBuf;

use super::{Recorded, record};
use crate::{
    blockers::{self, Blocker, FileOptions},
    context::Context,
    report::{Finding, Report},
    target::ReleaseTarget,
};

pub use crate::blockers::report::file_for_report;

/// A blocker to file.
#[derive(Debug, Clone, Default)]
pub struct FileRequest {
    /// The gate or check that failed or was incomplete.
    pub check: String,
    /// Short title.
    pub title: String,
    /// What happened.
    pub summary: String,
    /// The workflow run it came from (its URL and failed jobs are read from GitHub).
    pub run_id: Option<u64>,
    /// That run's URL.
    pub run_url: Option<String>,
    /// The command that failed.
    pub failing_command: Option<String>,
    /// A log whose last lines go into the body (redacted).
    pub log_snippet_file: Option<Utf8PathBuf>,
    /// Who files it [default: the evidence record's agent].
    pub agent: Option<String>,
    /// Say what would be filed; create and record nothing.
    pub dry_run: bool,
    /// The ergo executable [default: the policy's].
    pub ergo: Option<String>,
}

/// A recorded blocker to close.
#[derive(Debug, Clone, Default)]
pub struct CloseRequest {
    /// Its evidence id (`B1`).
    pub id: String,
    /// Why it no longer blocks (kept as a decision).
    pub reason: String,
}

/// `blocker vX.Y.Z ...`: file or close.
#[derive(Debug, Clone)]
pub enum BlockerRequest {
    /// File a blocker in the tracker and the record.
    File(FileRequest),
    /// Close a blocker of the record.
    Close(CloseRequest),
}

/// What `blocker` did.
#[derive(Debug, Clone)]
pub struct BlockerOutcome {
    /// The filing's (or closing's) findings, recorded in the evidence.
    pub recorded: Recorded,
    /// The evidence id of the blocker filed (none for a dry run or a close).
    pub blocker_id: Option<String>,
}

/// Files or closes a release blocker of `target`.
pub fn blocker(cx: &Context, target: &ReleaseTarget, request: &BlockerRequest) -> anyhow::Result<BlockerOutcome> {
    let (findings, blocker_id) = match request {
        BlockerRequest::Close(c) => (vec![close(cx, target, c)?], None),
        BlockerRequest::File(f) => file(cx, target, f)?,
    };
    let report = Report::new("blocker", Some(target.tag()), findings);
    // A dry run is read-only: it says what would be filed and records nothing, not even its
    // report.
    let recorded = match request {
        BlockerRequest::File(f) if f.dry_run => Recorded { report, evidence: None },
        _ => record(cx, Some(target), report)?,
    };
    Ok(BlockerOutcome { recorded, blocker_id })
}

fn file(cx: &Context, target: &ReleaseTarget, request: &FileRequest) -> anyhow::Result<(Vec<Finding>, Option<String>)> {
    let ergo = request.ergo.clone().unwrap_or_else(|| cx.policy.blockers.ergo.clone());
    let options = FileOptions { ergo, dry_run: request.dry_run, ..FileOptions::new(&cx.env) };
    let mut blocker = Blocker::new(target.clone(), &request.check, &request.title, &request.summary);
    blocker.agent = blockers::agent(&cx.repo, target, request.agent.clone());
    blocker.run_id = request.run_id.map(|id| id.to_string());
    blocker.run_url = request.run_url.clone();
    blocker.failing_command = request.failing_command.clone();
    if let Some(file) = &request.log_snippet_file {
        // A named log that cannot be read is an error, not a silently shorter blocker.
        let log = std::fs::read(file).with_context(|| format!("cannot read --log-snippet-file {file}"))?;
        blocker.log_excerpt = Some(blockers::log_excerpt(&String::from_utf8_lossy(&log), &options.redactor));
    }
    // Read before filing, so the body carries the run's URL and failed jobs (or says they
    // could not be read); an unreadable run does not stop the filing.
    let run = blockers::enrich(cx, &mut blocker);
    let blocker = blocker.redacted(&options.redactor);
    let filed = blockers::file(cx, &blocker, &options);
    let id = if request.dry_run { None } else { Some(blockers::record(&cx.repo, &blocker, &filed, &cx.clock)?) };
    let mut findings = vec![filed];
    findings.extend(run);
    Ok((findings, id))
}

fn close(cx: &Context, target: &ReleaseTarget, request: &CloseRequest) -> anyhow::Result<Finding> {
    let CloseRequest { id, reason } = request;
    let closed = blockers::close(&cx.repo, target, id, reason, &cx.clock)?;
    let tracker = match &closed.external {
        Some(external) => {
            format!("the tracker's item is not closed by this command: close it in the tracker ({external})")
        }
        None => "the tracker's item, if any, is not closed by this command: close it in the tracker".to_string(),
    };
    Ok(Finding::pass(
        blockers::CHECK,
        format!("evidence blocker {id}: {}", closed.title),
        format!("closed in the evidence record, reason kept as a decision: {}; {tracker}", reason.trim()),
    ))
}
