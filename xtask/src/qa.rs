//! `qa`: runs the gates (release_core::gates), streams their output on stderr, renders the
//! report and appends it to the evidence record.

use std::{io::Write, time::Duration};

use anyhow::{Context as _, bail};
use release_core::{
    Finding, ReleaseTarget, evidence,
    gates::{self, Gate, Observer, Plan, Waiver},
    versions,
};

use crate::{
    cli::{Common, QaArgs},
    render, repo_checks,
};

pub fn qa(common: &Common, args: QaArgs) -> anyhow::Result<u8> {
    let cx = repo_checks::open(common)?;
    let target = match &args.target {
        Some(t) => ReleaseTarget::parse(t)?,
        None => match versions::agreed(&cx.repo, &cx.policy)? {
            Some(t) => t,
            None => bail!("the version surfaces disagree, so there is no default target: pass vX.Y.Z"),
        },
    };
    if args.waive.len() != args.reason.len() {
        bail!(
            "{} --waive but {} --reason: each --waive ID needs its own --reason TEXT",
            args.waive.len(),
            args.reason.len()
        );
    }
    let record = evidence::load(&cx.repo, &target)?;
    if let (Some(r), Some(mode)) = (&record, &args.mode)
        && r.mode != evidence::Mode::Unset
        && r.mode.as_str() != mode
    {
        bail!(
            "the evidence record of {} says mode {}, not {mode}: use `cargo xtask release evidence {} --mode {mode} --agent A --force` to start over",
            target.tag(),
            r.mode.as_str(),
            target.tag()
        );
    }
    let base_tag = match &args.base_tag {
        Some(b) => Some(ReleaseTarget::parse(b).with_context(|| format!("--base-tag {b}"))?.tag()),
        None => match record.as_ref().and_then(|r| r.base_tag.clone()) {
            Some(b) => Some(b),
            None => cx.repo.base_tag(&target)?.map(|t| t.tag()),
        },
    };
    let mut plan = Plan::new(target.clone());
    plan.base_tag = base_tag;
    plan.only = args.only.clone();
    plan.waivers = args
        .waive
        .iter()
        .zip(&args.reason)
        .map(|(id, reason)| Waiver { id: id.clone(), reason: reason.clone() })
        .collect();
    plan.fail_fast = args.fail_fast;
    plan.secrets = release_core::redact::secrets_from_env(&cx.env);
    plan.open_blockers = record.as_ref().map(|r| r.open_blockers()).unwrap_or_default();
    gates::check_selection(&gates::catalogue(&cx)?, &plan)?;
    if let Some(mode) = &args.mode
        && record.is_none()
    {
        let opts = evidence::InitOptions {
            mode: evidence::Mode::parse(mode)?,
            agent: String::new(),
            base_tag: plan.base_tag.clone(),
            force: false,
        };
        evidence::init(&cx.repo, &target, &opts, &cx.clock)?;
    }

    let mut out = Live { github: render::github_actions() };
    let mut report = gates::run(&cx, &plan, &mut out)?;
    if args.file_blockers {
        report = crate::blocker::file_for_report(&cx, report, &target);
    }
    let code = render::report(&report, common.json);
    evidence::append(&cx.repo, &target, &report, &cx.clock)?;
    let shown = evidence::json_path(&cx.repo, &target);
    eprintln!("evidence: {}", shown.strip_prefix(cx.repo.root()).unwrap_or(&shown));
    Ok(code)
}

/// Prints gate headers, output and progress on stderr (stdout is the report).
struct Live {
    github: bool,
}

impl Observer for Live {
    fn started(&mut self, index: usize, total: usize, gate: &Gate) {
        let header = format!("[{index}/{total}] {}: {}", gate.id, gate.description);
        let mut err = std::io::stderr().lock();
        let _ = if self.github { writeln!(err, "::group::{header}") } else { writeln!(err, "{header}") };
    }

    fn line(&mut self, _gate: &Gate, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "    {line}");
    }

    fn tick(&mut self, gate: &Gate, elapsed: Duration) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "    ... {} still running ({})",
            gate.id,
            release_core::duration::format(elapsed)
        );
    }

    fn finished(&mut self, gate: &Gate, findings: &[Finding], elapsed: Duration) {
        let worst = findings
            .iter()
            .map(|f| f.outcome.word())
            .max_by_key(|w| match *w {
                "FAIL" => 4,
                "INCOMPLETE" => 3,
                "PASS" => 2,
                _ => 1,
            })
            .unwrap_or("SKIP");
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "    {worst} {} ({})", gate.id, release_core::duration::format(elapsed));
        if self.github {
            let _ = writeln!(err, "::endgroup::");
        }
    }
}
