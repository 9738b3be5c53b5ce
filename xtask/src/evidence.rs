//! `evidence` (create or reopen the record) and `status` (the resume checkpoint).

use anyhow::{Context as _, bail};
use release_core::{
    ReleaseTarget,
    evidence::{self, Init, InitOptions, LiveState, Mode},
    repo::PushState,
};

use crate::{
    cli::{Common, EvidenceArgs, StatusArgs},
    repo_checks,
};

pub fn init(common: &Common, args: EvidenceArgs) -> anyhow::Result<u8> {
    let cx = repo_checks::open(common)?;
    let target = ReleaseTarget::parse(&args.target)?;
    let base_tag = match &args.base_tag {
        Some(b) => ReleaseTarget::parse(b).with_context(|| format!("--base-tag {b}"))?.tag(),
        None => match cx.repo.base_tag(&target)? {
            Some(b) => b.tag(),
            None => bail!("no release tag below {} to use as the base tag: pass --base-tag vX.Y.Z", target.tag()),
        },
    };
    if args.agent.trim().is_empty() {
        bail!("--agent must not be empty (e.g. model@host or your name)");
    }
    let opts = InitOptions {
        mode: Mode::parse(&args.mode)?,
        agent: args.agent.clone(),
        base_tag: Some(base_tag),
        force: args.force,
    };
    let what = evidence::init(&cx.repo, &target, &opts, &cx.clock)?;
    let path = evidence::json_path(&cx.repo, &target);
    let shown = path.strip_prefix(cx.repo.root()).unwrap_or(&path);
    match what {
        Init::Created => eprintln!("created {shown}"),
        Init::Reopened => eprintln!("reopened {shown}"),
        Init::Completed => eprintln!("reopened {shown}; mode and agent recorded"),
        Init::Replaced { backup } => {
            eprintln!(
                "started over: {shown} (the old record is {})",
                backup.strip_prefix(cx.repo.root()).unwrap_or(&backup)
            )
        }
    }
    if common.json {
        let record = evidence::load(&cx.repo, &target)?;
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!("{shown}");
    }
    Ok(0)
}

pub fn status(common: &Common, args: StatusArgs) -> anyhow::Result<u8> {
    let cx = repo_checks::open(common)?;
    let target = ReleaseTarget::parse(&args.target)?;
    let Some(record) = evidence::load(&cx.repo, &target)? else {
        bail!(
            "no evidence record for {t}: start one with `cargo xtask release evidence {t} --mode dry-run|live --agent <you>`",
            t = target.tag()
        );
    };
    let live = LiveState::read(&cx.repo, &target);
    let next = record.next_step(&live);
    if common.json {
        let value = serde_json::json!({
            "schema_version": evidence::SCHEMA_VERSION,
            "target": record.target,
            "mode": record.mode,
            "branch": live.branch,
            "commit": live.commit,
            "push": live.push.map(|p| format!("{p:?}")),
            "tag_local": live.tag_local,
            "tag_remote": live.tag_remote,
            "last_runs": record.entries.iter().rev().take(5).map(|e| serde_json::json!({
                "timestamp": e.timestamp, "command": e.report.command, "verdict": e.report.verdict,
            })).collect::<Vec<_>>(),
            "failing_gates": record.failing_gates(),
            "open_blockers": record.open_blockers(),
            "next_step": next,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    let short = |s: &str| s[..s.len().min(12)].to_string();
    println!(
        "release {} ({}, base {})",
        record.target,
        record.mode.as_str(),
        record.base_tag.as_deref().unwrap_or("unknown")
    );
    println!("branch:  {}", live.branch.as_deref().unwrap_or("(detached HEAD)"));
    println!("commit:  {}", live.commit.as_deref().map(short).unwrap_or_else(|| "unknown".into()));
    let push = match live.push {
        Some(PushState::UpToDate) => "up to date with its upstream".to_string(),
        Some(PushState::Diverged { ahead, behind }) => format!("{ahead} ahead, {behind} behind its upstream"),
        Some(PushState::NoUpstream) => "no upstream branch".to_string(),
        Some(PushState::Detached) => "detached HEAD".to_string(),
        None => "unknown".to_string(),
    };
    println!("push:    {push}");
    let tag_local = live.tag_local.as_deref().map(|c| format!("at {}", short(c))).unwrap_or_else(|| "absent".into());
    let tag_remote = match live.tag_remote {
        Some(true) => "on origin",
        Some(false) => "not on origin",
        None => "origin unknown",
    };
    println!("tag:     {} {tag_local} locally, {tag_remote}", record.target);
    println!("last runs:");
    if record.entries.is_empty() {
        println!("  none yet");
    }
    for e in record.entries.iter().rev().take(5) {
        println!("  {} {}: {}", e.timestamp, e.report.command, e.report.verdict);
    }
    let failing = record.failing_gates();
    println!("failing gates:{}", if failing.is_empty() { " none" } else { "" });
    for f in failing {
        println!("  {f}");
    }
    let open = record.open_blockers();
    println!("open blockers:{}", if open.is_empty() { " none" } else { "" });
    for b in open {
        println!("  {b}");
    }
    println!("next step: {next}");
    Ok(0)
}
