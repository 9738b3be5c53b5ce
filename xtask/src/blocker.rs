//! `blocker`: file one release blocker, or close one; and the `--file-blockers` step of `qa`
//! and `verify`.

use anyhow::{Context as _, bail};
use release_core::{
    Context, Finding, ReleaseTarget, Report,
    blockers::{
        self, Blocker, FileOptions,
        report::{self as from_report, CiRun},
    },
};

use crate::{
    cli::{BlockerArgs, Common},
    repo_checks,
};

pub fn blocker(common: &Common, args: BlockerArgs) -> anyhow::Result<Report> {
    let cx = repo_checks::open(common)?;
    let target = ReleaseTarget::parse(&args.target)?;
    if let Some(id) = &args.close {
        return close(&cx, &target, id, args.reason.as_deref().unwrap_or(""));
    }
    let (Some(check), Some(title), Some(summary)) = (&args.check, &args.title, &args.summary) else {
        bail!("filing a blocker needs --check, --title and --summary (or close one with --close ID --reason TEXT)");
    };
    let ergo = args.ergo.unwrap_or_else(|| cx.policy.blockers.ergo.clone());
    let options = FileOptions { ergo, dry_run: args.dry_run, ..FileOptions::new(&cx.env) };
    let mut blocker = Blocker::new(target.clone(), check, title, summary);
    blocker.agent = blockers::agent(&cx.repo, &target, args.agent);
    blocker.run_id = args.run_id.map(|id| id.to_string());
    blocker.run_url = args.run_url;
    blocker.failing_command = args.failing_command;
    if let Some(file) = &args.log_snippet_file {
        // A named log that cannot be read is an error, not a silently shorter blocker.
        let log = std::fs::read(file).with_context(|| format!("cannot read --log-snippet-file {file}"))?;
        blocker.log_excerpt = Some(blockers::log_excerpt(&String::from_utf8_lossy(&log), &options.secrets));
    }
    let mut findings = Vec::new();
    // Read before filing, so the body carries the run's URL and failed jobs (or says they
    // could not be read); an unreadable run does not stop the filing.
    let run = blockers::enrich(&cx, &mut blocker);
    let blocker = blocker.redacted(&options.secrets);
    let finding = blockers::file(&cx, &blocker, &options);
    if !args.dry_run {
        let id = blockers::record(&cx.repo, &blocker, &finding, &cx.clock)?;
        eprintln!("recorded as blocker {id} in {}", release_core::evidence::json_path(&cx.repo, &target));
    }
    findings.push(finding);
    findings.extend(run);
    Ok(Report::new("blocker", Some(target.tag()), findings))
}

fn close(cx: &Context, target: &ReleaseTarget, id: &str, reason: &str) -> anyhow::Result<Report> {
    let closed = blockers::close(&cx.repo, target, id, reason, &cx.clock)?;
    let tracker = match &closed.external {
        Some(external) => {
            format!("the tracker's item is not closed by this command: close it in the tracker ({external})")
        }
        None => "the tracker's item, if any, is not closed by this command: close it in the tracker".to_string(),
    };
    let finding = Finding::pass(
        blockers::CHECK,
        format!("evidence blocker {id}: {}", closed.title),
        format!("closed in the evidence record, reason kept as a decision: {}; {tracker}", reason.trim()),
    );
    Ok(Report::new("blocker", Some(target.tag()), vec![finding]))
}

/// `--file-blockers`: files a blocker for every failed or incomplete finding of `report` and
/// returns the report with the filing's findings added (the verdict is recomputed over all of
/// them, so a blocked report stays blocked). In GitHub Actions the current run is attached.
pub fn file_for_report(cx: &Context, mut report: Report, target: &ReleaseTarget) -> Report {
    let ci = CiRun::from_env(&cx.env);
    let options = FileOptions {
        ergo: cx.policy.blockers.ergo.clone(),
        agent: blockers::agent(&cx.repo, target, None),
        ..FileOptions::new(&cx.env)
    };
    let filed = from_report::file_all(cx, &report, target, ci.as_ref(), &options);
    // Extended in place, so every other field of the report is kept as the command made it.
    report.findings.extend(filed);
    report.verdict = release_core::report::verdict(&report.findings);
    report
}
