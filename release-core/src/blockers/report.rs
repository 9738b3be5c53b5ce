//! `qa --file-blockers` and `verify --file-blockers`: every failed or incomplete finding of a
//! report becomes a blocker, filed in the tracker and recorded in the evidence like one filed
//! with `cargo xtask release blocker`.
//!
//! Titles are stable (`<check>: <subject>`, no timings or counts), so a re-run finds the
//! blocker it filed before, in the tracker (same title) and in the evidence record (same
//! check and title), and files nothing twice.

use super::{Blocker, CHECK, FileOptions, file, log_excerpt, record};
use crate::{
    context::Context, env::Env, redact::Redactor, report::CheckId, report::Evidence, report::Finding, report::Report,
    target::ReleaseTarget,
};

/// Check id of the `blockers` gate, whose own findings are never turned into blockers (they
/// are the blockers).
const BLOCKERS_GATE: CheckId = CheckId::BLOCKERS;

/// Longest title kept (GitHub allows 256 characters; the prefix takes some).
const MAX_TITLE_CHARS: usize = 200;

/// The workflow run a command runs in (GitHub Actions), attached to every blocker it files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiRun {
    /// `GITHUB_RUN_ID`.
    pub id: String,
    /// `{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}`.
    pub url: String,
}

impl CiRun {
    /// The run described by `GITHUB_RUN_ID`, `GITHUB_SERVER_URL` and `GITHUB_REPOSITORY` in
    /// `env`; `None` unless all three are set.
    pub fn from_env(env: &Env) -> Option<CiRun> {
        CiRun::from_vars(|k| env.get(k).map(str::to_string))
    }

    /// The run described by `GITHUB_RUN_ID`, `GITHUB_SERVER_URL` and `GITHUB_REPOSITORY`, read
    /// through `var`; `None` unless all three are set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<CiRun> {
        let get = |k: &str| var(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (id, server, repo) = (get("GITHUB_RUN_ID")?, get("GITHUB_SERVER_URL")?, get("GITHUB_REPOSITORY")?);
        let url = format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/'));
        Some(CiRun { id, url })
    }
}

/// The stable title of the blocker for `finding`, made from its key so a re-run on another
/// commit finds the same blocker: `<check>: <thing>` (the subject, unless the finding was
/// keyed on something steadier), or `<check>` for a command gate, cut to 200 characters.
pub fn title(finding: &Finding) -> String {
    let key = finding.identity();
    let check = finding.check.as_str();
    let full = match key.strip_prefix(check).and_then(|rest| rest.strip_prefix(':')) {
        Some(thing) => format!("{check}: {thing}"),
        None => key,
    };
    let one_line = full.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX_TITLE_CHARS) {
        Some((at, _)) => format!("{}...", &one_line[..at]),
        None => one_line,
    }
}

/// The blockers of a report: one per distinct title among its `Fail` and `Incomplete`
/// findings, leaving out the `blockers` gate's and the filing's own findings. The summary is
/// the finding's detail (details of findings with the same title are joined); a command's
/// argv becomes the failing command and its output tail the log excerpt; `ci` is attached.
/// Everything is redacted by `redactor`.
pub fn blockers(report: &Report, target: &ReleaseTarget, ci: Option<&CiRun>, redactor: &Redactor) -> Vec<Blocker> {
    let mut out: Vec<Blocker> = Vec::new();
    for f in report.findings.iter().filter(|f| f.outcome.blocks() && f.check != BLOCKERS_GATE && f.check != CHECK) {
        let title = title(f);
        let summary = format!("{} {}: {}", f.outcome.word(), f.subject, f.detail);
        if let Some(same) = out.iter_mut().find(|b| b.title == title) {
            same.summary = format!("{}; {summary}", same.summary);
            continue;
        }
        let mut b = Blocker::new(target.clone(), f.check.as_str(), &title, &summary);
        for e in &f.evidence {
            if let Evidence::Command { argv, tail, .. } = e
                && b.failing_command.is_none()
            {
                b.failing_command = Some(argv.join(" "));
                if !tail.trim().is_empty() {
                    b.log_excerpt = Some(log_excerpt(tail, redactor));
                }
            }
        }
        if let Some(run) = ci {
            b.run_id = Some(run.id.clone());
            b.run_url = Some(run.url.clone());
        }
        out.push(b.redacted(redactor));
    }
    out
}

/// Files and records a blocker for every failed or incomplete finding of `report` (see
/// [`blockers`]) and returns one finding per blocker: the tracker's, with the evidence id
/// added to its detail. A blocker that cannot be recorded is an `Incomplete` finding, not an
/// error, so the report it came from is still rendered and kept.
pub fn file_all(
    cx: &Context,
    report: &Report,
    target: &ReleaseTarget,
    ci: Option<&CiRun>,
    options: &FileOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for mut b in blockers(report, target, ci, &options.redactor) {
        b.agent = options.agent.clone();
        let mut filed = file(cx, &b, options);
        if options.dry_run {
            out.push(filed);
            continue;
        }
        match record(&cx.repo, &b, &filed, &cx.clock) {
            Ok(id) => {
                filed.detail = format!("{} (evidence: blocker {id})", filed.detail);
                out.push(filed);
            }
            Err(e) => {
                out.push(filed);
                out.push(Finding::incomplete(
                    CHECK,
                    format!("evidence: {}", b.title),
                    format!("the blocker could not be recorded in the evidence record: {e:#}"),
                ));
            }
        }
    }
    out
}

/// `--file-blockers` of `qa` and `verify`: files a blocker for every failed or incomplete
/// finding of `report` and returns the report with the filing's findings added (the verdict is
/// recomputed over all of them, so a blocked report stays blocked). In GitHub Actions the
/// current run is attached.
pub fn file_for_report(cx: &Context, mut report: Report, target: &ReleaseTarget) -> Report {
    let ci = CiRun::from_env(&cx.env);
    let options = FileOptions {
        ergo: cx.policy.blockers.ergo.clone(),
        agent: super::agent(&cx.repo, target, None),
        ..FileOptions::new(&cx.env)
    };
    let filed = file_all(cx, &report, target, ci.as_ref(), &options);
    // Extended in place, so every other field of the report is kept as the command made it.
    report.findings.extend(filed);
    report.verdict = crate::report::verdict(&report.findings);
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;

    fn report(findings: Vec<Finding>) -> Report {
        Report::new("qa", Some("v0.9.0".into()), findings)
    }

    #[test]
    fn titles_are_stable_and_short() {
        let gate = Finding::fail("release-gate", "release-gate", "exit 1 after 3.2s");
        assert_eq!(title(&gate), "release-gate");
        let npm = Finding::fail("verify.npm", "npm plasmite@0.9.0", "not published");
        assert_eq!(title(&npm), "verify.npm: npm plasmite@0.9.0");
        let long = Finding::fail("c", "x".repeat(300), "d");
        assert_eq!(title(&long).chars().count(), 203);
        assert_eq!(title(&Finding::fail("c", "two\nlines", "d")), "c: two lines");
    }

    #[test]
    fn only_blocking_findings_of_other_checks_become_blockers() {
        let target = ReleaseTarget::parse("v0.9.0").unwrap();
        let r = report(vec![
            Finding::pass("versions", "Cargo.toml", "ok"),
            Finding::fail("release-gate", "release-gate", "exit 1 after 2s").with(Evidence::Command {
                argv: vec!["just".into(), "release-gate".into()],
                exit_code: Some(1),
                tail: "error: token ghp_abcdefghijklmnopqrstuvwxyz0123 rejected".into(),
            }),
            Finding::incomplete("ci-green", "ci ci.yml on abc", "no run yet"),
            Finding::fail("blockers", "release blockers (evidence)", "1 open blocker"),
            Finding::incomplete("blocker", "github: x", "no token"),
            Finding::new("audit", "audit", Outcome::skipped("no change"), "no change"),
        ]);
        let ci = CiRun::from_vars(|k| {
            Some(match k {
                "GITHUB_RUN_ID" => "77".into(),
                "GITHUB_SERVER_URL" => "https://github.example/".into(),
                _ => "o/r".into(),
            })
        });
        let bs = blockers(&r, &target, ci.as_ref(), &Redactor::default());
        let titles: Vec<&str> = bs.iter().map(|b| b.title.as_str()).collect();
        assert_eq!(titles, ["release-gate", "ci-green: ci ci.yml on abc"]);
        assert_eq!(bs[0].failing_command.as_deref(), Some("just release-gate"));
        assert!(bs[0].summary.starts_with("FAIL release-gate: exit 1"), "{}", bs[0].summary);
        assert!(!bs[0].log_excerpt.as_deref().unwrap().contains("ghp_"), "{:?}", bs[0].log_excerpt);
        assert_eq!(bs[1].run_url.as_deref(), Some("https://github.example/o/r/actions/runs/77"));
        assert_eq!(bs[1].run_id.as_deref(), Some("77"));
        assert!(CiRun::from_vars(|k| (k != "GITHUB_REPOSITORY").then(|| "x".to_string())).is_none());
        let env = Env::empty()
            .with("GITHUB_RUN_ID", "77")
            .with("GITHUB_SERVER_URL", "https://github.example/")
            .with("GITHUB_REPOSITORY", "o/r");
        assert_eq!(CiRun::from_env(&env), ci);
        assert_eq!(CiRun::from_env(&env.without("GITHUB_RUN_ID")), None);
    }

    #[test]
    fn findings_with_one_title_make_one_blocker() {
        let target = ReleaseTarget::parse("v0.9.0").unwrap();
        let r = report(vec![Finding::fail("c", "s", "first"), Finding::incomplete("c", "s", "second")]);
        let bs = blockers(&r, &target, None, &Redactor::default());
        assert_eq!(bs.len(), 1);
        assert!(bs[0].summary.contains("first") && bs[0].summary.contains("second"), "{}", bs[0].summary);
    }
}
