//! From flags to a typed request, the library call, and the rendering of its outcome. Every
//! flag is parsed into its type before the repository is opened, so a bad flag is a usage
//! error even outside a repository, and nothing is installed or written on a bad command line.

use std::{io::Write, time::Duration};

use anyhow::{Context as _, bail};
use camino::Utf8Path;

use super::{
    args::{
        BenchArgs, BlockerArgs, BuildArgs, ChangelogArgs, Common, EvidenceArgs, HomebrewCommand, HttpArgs, NextArgs,
        NoticesArgs, PreflightArgs, ProvenanceArgs, PublishArgs, QaArgs, Release, SmokeArgs, StatusArgs, TagArgs,
        TargetsArgs, VerifyArgs, VersionsArgs, WaitArgs,
    },
    render::{self, Stream},
};
use crate::{
    bench::{BenchOptions, Thresholds},
    clock::{Clock, Date},
    commands::{self as cmd, Observer, Progress},
    context::Context,
    duration,
    evidence::{Init, Mode},
    gates::{Gate, Waiver},
    manifest::{Channel, Tier},
    provenance::Which,
    redact::Redactor,
    repo::PushState,
    report::Finding,
    smoke::{self, Backoff},
    target::ReleaseTarget,
    verify::{self, PartialPublish},
};

/// Runs one `release` command; returns its exit code.
pub(super) fn release(common: &Common, command: Release) -> anyhow::Result<u8> {
    match command {
        Release::Versions(args) => versions(common, args),
        Release::Changelog(args) => changelog(common, args),
        Release::Targets(args) => targets(common, args),
        Release::Qa(args) => qa(common, args),
        Release::Evidence(args) => evidence(common, args),
        Release::Status(args) => status(common, args),
        Release::Blocker(args) => blocker(common, args),
        Release::Bench(args) => bench(common, args),
        Release::Notices(args) => notices(common, args),
        Release::Smoke(args) => smoke(common, args),
        Release::Provenance(args) => provenance(common, args),
        Release::Verify(args) => verify(common, args),
        Release::Endpoints => endpoints(common),
        Release::Homebrew(command) => homebrew(common, command),
        Release::Preflight(args) => preflight(common, args),
        Release::Tag(args) => tag(common, args),
        Release::Build(args) => build(common, args),
        Release::Publish(args) => publish(common, args),
        Release::Next(args) => next(common, args),
    }
}

/// The variable that puts the command on a manual clock (tests only, never documented as a
/// feature: waits then take no time at all).
const MANUAL_CLOCK: &str = "RELEASE_CORE_MANUAL_CLOCK";

/// Opens the repository and policy named by the common options.
fn open(common: &Common) -> anyhow::Result<Context> {
    common.opened.set(true);
    let dir = common.repo.as_deref().unwrap_or(Utf8Path::new("."));
    let mut cx = Context::open(dir, common.policy.as_deref())?.with_env(common.env.clone());
    // For the end-to-end tests only: waits (`verify --wait`, retry backoff) move a manual
    // clock instead of sleeping, so a test of many rounds costs no real time.
    if common.env.get(MANUAL_CLOCK) == Some("1") {
        cx = cx.with_clock(Clock::manual(std::time::SystemTime::now()));
    }
    // No command reads version surfaces that a killed `versions --set` left half-bumped.
    if let Some(done) = cmd::recover_bump(&cx)? {
        render::err(&common.env, &format!("note: {done}"));
    }
    Ok(cx)
}

fn target(text: &str) -> anyhow::Result<ReleaseTarget> {
    ReleaseTarget::parse(text)
}

fn base_tag(text: &Option<String>) -> anyhow::Result<Option<ReleaseTarget>> {
    text.as_deref().map(|b| ReleaseTarget::parse(b).with_context(|| format!("--base-tag {b}"))).transpose()
}

fn http_limits(args: &HttpArgs) -> anyhow::Result<cmd::HttpLimits> {
    let timeout = args.http_timeout.as_deref().map(duration::parse).transpose().context("--http-timeout")?;
    Ok(cmd::HttpLimits { timeout, retries: args.http_retries })
}

fn shown<'a>(cx: &Context, path: &'a Utf8Path) -> &'a Utf8Path {
    path.strip_prefix(cx.repo.root()).unwrap_or(path)
}

/// Renders a recorded report and notes its evidence record for `$GITHUB_OUTPUT`.
fn rendered(common: &Common, cx: &Context, recorded: &cmd::Recorded) -> u8 {
    if let Some(path) = &recorded.evidence {
        common.outputs.evidence(shown(cx, path).as_str());
    }
    render::report(&recorded.report, common)
}

fn versions(common: &Common, args: VersionsArgs) -> anyhow::Result<u8> {
    let request = cmd::VersionsRequest { set: args.set.as_deref().map(target).transpose()? };
    let cx = open(common)?;
    let outcome = cmd::versions(&cx, &request)?;
    if let Some(done) = &outcome.recovered {
        render::err(&common.env, &format!("note: {done}"));
    }
    if !common.json {
        for change in &outcome.changes {
            let pairs: Vec<String> = change.replaced.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
            render::err(&common.env, &format!("set {}: {}", change.file, pairs.join(", ")));
        }
    }
    Ok(render::report(&outcome.report, common))
}

fn changelog(common: &Common, args: ChangelogArgs) -> anyhow::Result<u8> {
    let work = if args.notes {
        cmd::ChangelogWork::Notes
    } else if args.finalize {
        cmd::ChangelogWork::Finalize { date: args.date.as_deref().map(Date::parse).transpose()? }
    } else {
        cmd::ChangelogWork::Check
    };
    let request = cmd::ChangelogRequest { target: target(&args.target)?, work };
    let cx = open(common)?;
    let tag = request.target.tag();
    match cmd::changelog(&cx, &request)? {
        cmd::ChangelogOutcome::Notes { notes: Some(notes), .. } => {
            match common.json {
                true => render::json_output(&common.env, "changelog", Some(&tag), &Notes { notes: Some(&notes) })?,
                false => render::out(&common.env, &notes),
            }
            Ok(0)
        }
        cmd::ChangelogOutcome::Notes { file, notes: None } => {
            let message = format!(
                "{file} has no notes for {}: the publish workflow would fall back to a link to the changelog",
                request.target.version()
            );
            render::err(&common.env, &message);
            if common.json {
                render::json_output(&common.env, "changelog", Some(&tag), &Notes { notes: None })?;
            }
            Ok(1)
        }
        cmd::ChangelogOutcome::Checked { report, finalized } => {
            if let (Some(section), Some(policy)) = (finalized, &cx.policy.changelog) {
                render::err(&common.env, &format!("{}: [Unreleased] is now `{section}`", policy.file));
            }
            Ok(render::report(&report, common))
        }
    }
}

/// `changelog --notes --json`: the notes, `null` when the section has none.
#[derive(serde::Serialize)]
struct Notes<'a> {
    notes: Option<&'a str>,
}

fn targets(common: &Common, args: TargetsArgs) -> anyhow::Result<u8> {
    let listing = args.channel.is_some() || args.rust_target.is_some() || args.field.is_some();
    let listing = match listing {
        true => Some(cmd::TargetsListing {
            channel: args.channel,
            tier: Tier::parse(&args.tier)?,
            field: args.field,
            rust_target: args.rust_target,
        }),
        false => None,
    };
    let cx = open(common)?;
    match cmd::targets(&cx, &cmd::TargetsRequest { listing })? {
        cmd::TargetsOutcome::Valid(report) => Ok(render::report(&report, common)),
        cmd::TargetsOutcome::Values(values) => {
            if common.json {
                render::json(&common.env, &values)?;
            } else {
                for v in values {
                    render::out(&common.env, &v);
                }
            }
            Ok(0)
        }
    }
}

fn qa(common: &Common, args: QaArgs) -> anyhow::Result<u8> {
    if args.waive.len() != args.reason.len() {
        bail!(
            "{} --waive but {} --reason: each --waive ID needs its own --reason TEXT",
            args.waive.len(),
            args.reason.len()
        );
    }
    let request = cmd::QaRequest {
        target: args.target.as_deref().map(target).transpose()?,
        base_tag: base_tag(&args.base_tag)?,
        mode: args.mode.as_deref().map(Mode::parse).transpose()?,
        only: args.only,
        waivers: args.waive.into_iter().zip(args.reason).map(|(id, reason)| Waiver { id, reason }).collect(),
        fail_fast: args.fail_fast,
        file_blockers: args.file_blockers,
        agent: args.agent,
    };
    let subset = !request.only.is_empty();
    let cx = open(common)?;
    let mut out = Stderr::new(common, render::github_actions(&common.env));
    let recorded = cmd::qa(&cx, &request, &mut out)?;
    let code = rendered(common, &cx, &recorded);
    if let Some(path) = &recorded.evidence {
        render::err(&common.env, &format!("evidence: {}", shown(&cx, path)));
    }
    if subset && let Some(t) = &recorded.report.target {
        render::err(&common.env, &subset_note("--only: only the selected gates ran", t));
    }
    Ok(code)
}

fn evidence(common: &Common, args: EvidenceArgs) -> anyhow::Result<u8> {
    let request = cmd::EvidenceRequest {
        target: target(&args.target)?,
        mode: Mode::parse(&args.mode)?,
        agent: args.agent,
        base_tag: base_tag(&args.base_tag)?,
        force: args.force,
    };
    let cx = open(common)?;
    let outcome = cmd::evidence(&cx, &request)?;
    let path = shown(&cx, &outcome.path);
    common.outputs.evidence(path.as_str());
    let said = match &outcome.init {
        Init::Created => format!("created {path}"),
        Init::Reopened => format!("reopened {path}"),
        Init::Completed => format!("reopened {path}; mode and agent recorded"),
        Init::Replaced { backup } => format!("started over: {path} (the old record is {})", shown(&cx, backup)),
    };
    render::err(&common.env, &said);
    if common.json {
        render::json_output(&common.env, "evidence", Some(&request.target.tag()), &outcome.record)?;
    } else {
        render::out(&common.env, path.as_str());
    }
    Ok(0)
}

fn status(common: &Common, args: StatusArgs) -> anyhow::Result<u8> {
    let request = cmd::StatusRequest { target: target(&args.target)? };
    let cx = open(common)?;
    let status = cmd::status(&cx, &request)?;
    if common.json {
        render::json_output(&common.env, "status", Some(&status.target), &status)?;
        return Ok(0);
    }
    let mut text = Vec::new();
    let _ = write_status(&mut text, &status);
    render::out(&common.env, String::from_utf8_lossy(&text).trim_end_matches('\n'));
    Ok(0)
}

fn write_status(out: &mut impl Write, s: &cmd::Status) -> std::io::Result<()> {
    let short = |c: &str| c[..c.len().min(12)].to_string();
    writeln!(out, "release {} ({}, base {})", s.target, s.mode.as_str(), s.base_tag.as_deref().unwrap_or("unknown"))?;
    writeln!(out, "branch:  {}", s.branch.as_deref().unwrap_or("(detached HEAD)"))?;
    writeln!(out, "commit:  {}", s.commit.as_deref().map(short).unwrap_or_else(|| "unknown".into()))?;
    let push = match s.push {
        Some(PushState::UpToDate) => "up to date with its upstream".to_string(),
        Some(PushState::Diverged { ahead, behind }) => format!("{ahead} ahead, {behind} behind its upstream"),
        Some(PushState::NoUpstream) => "no upstream branch".to_string(),
        Some(PushState::Detached) => "detached HEAD".to_string(),
        None => "unknown".to_string(),
    };
    writeln!(out, "push:    {push}")?;
    let tag_local = s.tag_local.as_deref().map(|c| format!("at {}", short(c))).unwrap_or_else(|| "absent".into());
    let tag_remote = match s.tag_remote {
        Some(true) => "on origin",
        Some(false) => "not on origin",
        None => "origin unknown",
    };
    writeln!(out, "tag:     {} {tag_local} locally, {tag_remote}", s.target)?;
    writeln!(out, "last runs:")?;
    if s.last_runs.is_empty() {
        writeln!(out, "  none yet")?;
    }
    for r in &s.last_runs {
        writeln!(out, "  {} {}: {}", r.timestamp, r.command, r.verdict)?;
    }
    writeln!(out, "failing gates:{}", if s.failing_gates.is_empty() { " none" } else { "" })?;
    for f in &s.failing_gates {
        writeln!(out, "  {} {}: {}", f.word(), f.check, f.detail)?;
    }
    writeln!(out, "not yet at the release commit:{}", if s.missing_checks.is_empty() { " none" } else { "" })?;
    for m in &s.missing_checks {
        writeln!(out, "  {m}")?;
    }
    writeln!(out, "open blockers:{}", if s.open_blockers.is_empty() { " none" } else { "" })?;
    for b in &s.open_blockers {
        writeln!(out, "  {b}")?;
    }
    writeln!(out, "next step: {}", s.next_step)
}

fn blocker(common: &Common, args: BlockerArgs) -> anyhow::Result<u8> {
    let release = target(&args.target)?;
    let request = match args.close {
        Some(id) => cmd::BlockerRequest::Close(cmd::CloseRequest { id, reason: args.reason.unwrap_or_default() }),
        None => {
            let (Some(check), Some(title), Some(summary)) = (args.check, args.title, args.summary) else {
                bail!(
                    "filing a blocker needs --check, --title and --summary (or close one with --close ID --reason TEXT)"
                );
            };
            cmd::BlockerRequest::File(cmd::FileRequest {
                check,
                title,
                summary,
                run_id: args.run_id,
                run_url: args.run_url,
                failing_command: args.failing_command,
                log_snippet_file: args.log_snippet_file,
                agent: args.agent,
                dry_run: args.dry_run,
                ergo: args.ergo,
            })
        }
    };
    let cx = open(common)?;
    let outcome = cmd::blocker(&cx, &release, &request)?;
    if let (Some(id), Some(path)) = (&outcome.blocker_id, &outcome.recorded.evidence) {
        render::err(&common.env, &format!("recorded as blocker {id} in {path}"));
    }
    Ok(rendered(common, &cx, &outcome.recorded))
}

fn bench(common: &Common, args: BenchArgs) -> anyhow::Result<u8> {
    let request = BenchOptions {
        base_tag: args.base_tag,
        runs: args.runs,
        messages: args.messages,
        thresholds: Thresholds {
            threshold_percent: args.threshold_percent,
            noise_floor: args.noise_floor,
            ..Thresholds::default()
        },
    };
    // Options first: a bad option is a usage error even outside a repository.
    request.validate()?;
    let cx = open(common)?;
    let recorded = cmd::bench(&cx, &request, &mut Stderr::new(common, false))?;
    Ok(rendered(common, &cx, &recorded))
}

fn notices(common: &Common, args: NoticesArgs) -> anyhow::Result<u8> {
    let request = cmd::NoticesRequest {
        paths: args.paths,
        target: args.target.as_deref().map(|t| target(t).context("--target")).transpose()?,
    };
    let cx = open(common)?;
    let recorded = cmd::notices(&cx, &request)?;
    Ok(rendered(common, &cx, &recorded))
}

fn smoke(common: &Common, args: SmokeArgs) -> anyhow::Result<u8> {
    // Everything the command line says is checked before anything is installed (bug 2).
    let duration = |text: &str, flag: &str| duration::parse(text).with_context(|| flag.to_string());
    let request = cmd::SmokeRequest {
        target: target(&args.target)?,
        channels: args.channels.as_deref().map(smoke::parse_channels).transpose()?,
        max_wait: duration(&args.max_wait, "--max-wait")?,
        backoff: Backoff {
            base: duration(&args.retry_delay, "--retry-delay")?,
            cap: duration(&args.retry_cap, "--retry-cap")?,
        },
        keep_scratch: args.keep_scratch,
    };
    let cx = open(common)?;
    let outcome = cmd::smoke(&cx, &request, &mut Stderr::new(common, false))?;
    if let Some(kept) = &outcome.kept {
        render::err(&common.env, &format!("scratch kept in {kept}"));
    }
    Ok(rendered(common, &cx, &outcome.recorded))
}

fn provenance(common: &Common, args: ProvenanceArgs) -> anyhow::Result<u8> {
    let which = match (args.run_id, &args.tag) {
        (Some(id), _) => Which::Run(id),
        (None, Some(tag)) => Which::Tag(target(tag)?),
        (None, None) => bail!("give --run-id ID or --tag vX.Y.Z"),
    };
    let expect = args.expect_tag.as_deref().map(target).transpose()?;
    let cx = open(common)?;
    let recorded = cmd::provenance(&cx, &cmd::ProvenanceRequest { which, expect })?;
    Ok(rendered(common, &cx, &recorded))
}

fn preflight(common: &Common, args: PreflightArgs) -> anyhow::Result<u8> {
    let request = cmd::PreflightRequest {
        target: args.target.as_deref().map(target).transpose()?,
        live: args.live.then_some(true),
    };
    let cx = open(common)?;
    let recorded = cmd::preflight(&cx, &request)?;
    Ok(rendered(common, &cx, &recorded))
}

fn tag(common: &Common, args: TagArgs) -> anyhow::Result<u8> {
    let request = cmd::TagRequest { target: target(&args.target)?, remote: args.remote };
    let cx = open(common)?;
    let outcome = cmd::tag(&cx, &request)?;
    Ok(rendered(common, &cx, &outcome.recorded))
}

fn wait(args: &WaitArgs) -> anyhow::Result<cmd::Wait> {
    Ok(cmd::Wait {
        timeout: duration::parse(&args.timeout).context("--timeout")?,
        poll: duration::parse(&args.poll).context("--poll")?,
    })
}

/// Renders a run's report, then the offered blocker (stderr) and a live publish's verify
/// (whose verdict, channels and partial publish are then the step's outputs).
fn run_outcome(common: &Common, cx: &Context, outcome: &cmd::RunOutcome) -> u8 {
    let mut code = rendered(common, cx, &outcome.recorded);
    if let Some(offer) = &outcome.offer {
        render::err(&common.env, offer);
    }
    if let Some(verified) = &outcome.verified {
        let (live, missing) = verify::published_channels(&verified.recorded.report.findings);
        common.outputs.channels(&live, &missing);
        code = code.max(render::report_with(&verified.recorded.report, verified.partial_publish.as_ref(), common));
        if let Some(partial) = &verified.partial_publish {
            let mut text = Vec::new();
            let _ = write_partial(&mut text, partial);
            render::err(&common.env, String::from_utf8_lossy(&text).trim_end_matches('\n'));
        }
    }
    code
}

fn build(common: &Common, args: BuildArgs) -> anyhow::Result<u8> {
    let request =
        cmd::BuildRequest { target: target(&args.target)?, wait: wait(&args.wait)?, file_blockers: args.file_blockers };
    let cx = open(common)?;
    let outcome = cmd::build(&cx, &request, &mut Stderr::new(common, false))?;
    Ok(run_outcome(common, &cx, &outcome))
}

fn publish(common: &Common, args: PublishArgs) -> anyhow::Result<u8> {
    let request = cmd::PublishRequest {
        target: target(&args.target)?,
        live: args.live,
        recover: args.recover,
        wait: wait(&args.wait)?,
        verify_wait: duration::parse(&args.verify_wait).context("--verify-wait")?,
        file_blockers: args.file_blockers,
    };
    let cx = open(common)?;
    let outcome = cmd::publish(&cx, &request, &mut Stderr::new(common, false))?;
    Ok(run_outcome(common, &cx, &outcome))
}

fn next(common: &Common, args: NextArgs) -> anyhow::Result<u8> {
    let request = cmd::NextRequest {
        target: target(&args.target)?,
        live: args.live,
        wait: wait(&args.wait)?,
        verify_wait: duration::parse(&args.verify_wait).context("--verify-wait")?,
    };
    let cx = open(common)?;
    let outcome = cmd::next(&cx, &request, &mut Stderr::new(common, false))?;
    // Its steps recorded their own reports; the record is the release's.
    let record = crate::evidence::json_path(&cx.repo, &request.target);
    if record.exists() {
        common.outputs.evidence(shown(&cx, &record).as_str());
    }
    let code = render::report(&outcome.report, common);
    render::err(&common.env, &format!("next: {}", outcome.what_now));
    Ok(code)
}

fn verify(common: &Common, args: VerifyArgs) -> anyhow::Result<u8> {
    let (channels, ci) = match &args.channels {
        Some(list) => verify::parse_channels(list)?,
        None => (Channel::VERIFY.to_vec(), true),
    };
    let wait: Option<Duration> = args.wait.as_deref().map(duration::parse).transpose().context("--wait")?;
    let request = cmd::VerifyRequest {
        target: target(&args.target)?,
        options: verify::Options { channels, ci, deep: args.deep, wait, formula: args.formula },
        file_blockers: args.file_blockers,
        http: http_limits(&args.http)?,
    };
    let subset = request.options.is_subset();
    let cx = open(common)?;
    let outcome = cmd::verify(&cx, &request, &mut Stderr::new(common, false))?;
    let report = &outcome.recorded.report;
    let (live, missing) = verify::published_channels(&report.findings);
    common.outputs.channels(&live, &missing);
    if let Some(path) = &outcome.recorded.evidence {
        common.outputs.evidence(shown(&cx, path).as_str());
    }
    let partial = outcome.partial_publish.as_ref();
    if subset {
        render::err(
            &common.env,
            &subset_note("--channels: only the selected channels were checked", &request.target.tag()),
        );
    }
    if common.json {
        let mut value = serde_json::to_value(report)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("partial_publish".into(), serde_json::to_value(&outcome.partial_publish)?);
            map.insert("rounds".into(), outcome.rounds.into());
        }
        // The HTTP client's own token (which may not be in the environment), then the one
        // redaction point.
        mask_strings(&mut value, &|s| cx.http.redact(s));
        render::json(&common.env, &value)?;
        common.outputs.verdict(report.verdict);
        render::github(report, partial, true, &common.env);
        return Ok(report.verdict.exit_code());
    }
    let code = render::report_with(report, partial, common);
    if let Some(partial) = &outcome.partial_publish {
        let mut text = Vec::new();
        let _ = write_partial(&mut text, partial);
        render::out(&common.env, String::from_utf8_lossy(&text).trim_end_matches('\n'));
    }
    Ok(code)
}

/// Every string of `value` through `mask`, in place.
fn mask_strings(value: &mut serde_json::Value, mask: &dyn Fn(&str) -> String) {
    match value {
        serde_json::Value::String(s) => *s = mask(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_strings(v, mask)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| mask_strings(v, mask)),
        _ => {}
    }
}

/// What a subset run (`qa --only`, `verify --channels`) says after its verdict: the verdict is
/// its own, and the release advances only on every required check at the release commit.
fn subset_note(what: &str, target: &str) -> String {
    format!(
        "partial run ({what}): this verdict covers them alone and does not advance the release; `cargo xtask release status {target}` lists what is still missing"
    )
}

/// The partial-publish block shown after the report.
fn write_partial(out: &mut impl Write, p: &PartialPublish) -> std::io::Result<()> {
    let names = |cs: &[Channel]| cs.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
    writeln!(out)?;
    writeln!(out, "PARTIAL PUBLISH: live on {}; missing on {}", names(&p.live), names(&p.missing))?;
    writeln!(out, "  recovery: {}", p.recovery)
}

fn endpoints(common: &Common) -> anyhow::Result<u8> {
    let cx = open(common)?;
    let outcome = cmd::endpoints(&cx);
    let code = if outcome.complete() { 0 } else { 3 };
    if common.json {
        render::json_output(&common.env, "endpoints", None, &outcome)?;
        return Ok(code);
    }
    let width = outcome.endpoints.iter().map(|e| e.url.as_deref().map_or(12, str::len)).max().unwrap_or(0);
    for e in &outcome.endpoints {
        let line = match (&e.url, &e.problem) {
            (Some(url), _) => format!("{:<16} {url:<width$}  {}", e.service, e.source),
            // Decided by the service when asked (crates_download: the index's config.json).
            (None, None) => format!("{:<16} {:<width$}  {}", e.service, "-", e.source),
            (None, Some(problem)) => format!("{:<16} {:<width$}  {problem}", e.service, "(unresolved)"),
        };
        render::out(&common.env, &line);
    }
    let tls = match (&outcome.tls.trust, &outcome.tls.error) {
        (Some(trust), _) => format!("{:<16} {trust}", "tls"),
        (None, error) => format!("{:<16} {}", "tls", error.as_deref().unwrap_or("")),
    };
    render::out(&common.env, &tls);
    Ok(code)
}

fn homebrew(common: &Common, command: HomebrewCommand) -> anyhow::Result<u8> {
    match command {
        HomebrewCommand::Render(args) => {
            let request = cmd::HomebrewRenderRequest {
                target: target(&args.target)?,
                sha256sums: args.sha256sums,
                out: args.out,
            };
            let cx = open(common)?;
            let text = cmd::homebrew_render(&cx, &request)?;
            let tag = request.target.tag();
            match &request.out {
                Some(out) => render::err(&common.env, &format!("wrote {out} for {tag}")),
                None if common.json => {}
                // The formula ends with its own newline; `out` adds one.
                None => render::out(&common.env, text.strip_suffix('\n').unwrap_or(&text)),
            }
            if common.json {
                let body = serde_json::json!({ "formula": text, "out": request.out });
                render::json_output(&common.env, "homebrew render", Some(&tag), &body)?;
            }
            Ok(0)
        }
        HomebrewCommand::Check(args) => {
            let request = cmd::HomebrewCheckRequest {
                target: target(&args.target)?,
                sha256sums: args.sha256sums,
                formula: args.formula,
                http: http_limits(&args.http)?,
            };
            let cx = open(common)?;
            let report = cmd::homebrew_check(&cx, &request)?;
            Ok(render::report(&report, common))
        }
        HomebrewCommand::Update(args) => {
            let write = match (args.stdout, args.check) {
                (true, _) => cmd::UpdateWrite::Stdout,
                (_, true) => cmd::UpdateWrite::Check,
                _ => cmd::UpdateWrite::InPlace,
            };
            let request = cmd::HomebrewUpdateRequest {
                target: target(&args.target)?,
                sha256sums: args.sha256sums,
                formula: args.formula,
                write,
            };
            let cx = open(common)?;
            let outcome = cmd::homebrew_update(&cx, &request)?;
            homebrew_update_output(common, &request, &outcome)
        }
    }
}

/// Says what `homebrew update` changed (stdout; the formula itself with `--stdout`, its
/// summary then on stderr) and gives the exit code: 1 only for `--check` on a formula that is
/// not at the release yet.
fn homebrew_update_output(
    common: &Common,
    request: &cmd::HomebrewUpdateRequest,
    outcome: &cmd::HomebrewUpdateOutcome,
) -> anyhow::Result<u8> {
    let (formula, tag) = (&request.formula, request.target.tag());
    let stale = request.write == cmd::UpdateWrite::Check && !outcome.changes.is_empty();
    if common.json {
        let changes: Vec<serde_json::Value> = outcome
            .changes
            .iter()
            .map(|c| serde_json::json!({ "line": c.line, "before": c.before, "after": c.after }))
            .collect();
        let value = serde_json::json!({
            "formula": formula,
            "from": outcome.from,
            "to": request.target.version(),
            "changes": changes,
            "written": outcome.written,
            "text": (request.write == cmd::UpdateWrite::Stdout).then_some(&outcome.text),
        });
        render::json_output(&common.env, "homebrew update", Some(&tag), &value)?;
        return Ok(u8::from(stale));
    }
    let mut summary = if outcome.changes.is_empty() {
        format!("{formula}: already at {tag} with these digests: nothing to change")
    } else {
        let done = match request.write {
            cmd::UpdateWrite::InPlace => "updated",
            cmd::UpdateWrite::Stdout => "would update (not written)",
            cmd::UpdateWrite::Check => "is not at the release: `homebrew update` would change",
        };
        format!("{formula} {done} {} -> {}, {} line(s):", outcome.from, request.target.version(), outcome.changes.len())
    };
    for c in &outcome.changes {
        summary.push_str(&format!("\n  {}: - {}\n  {}: + {}", c.line, c.before.trim(), c.line, c.after.trim()));
    }
    if request.write == cmd::UpdateWrite::Stdout {
        render::out(&common.env, outcome.text.strip_suffix('\n').unwrap_or(&outcome.text));
        render::err(&common.env, &summary);
    } else {
        render::out(&common.env, &summary);
    }
    Ok(u8::from(stale))
}

/// Progress on stderr (stdout is the report, or the JSON alone): gate headers, output and
/// ticks, notes and cargo-style status lines unless `-q`, each request too with `-v`; all
/// through [`render::write`] and [`render::status`].
struct Stderr {
    github: bool,
    notes: bool,
    verbose: bool,
    paint: bool,
    redactor: Redactor,
}

impl Stderr {
    /// Progress for `common` (`::group::` lines when `github`).
    fn new(common: &Common, github: bool) -> Stderr {
        Stderr {
            github,
            notes: !common.quiet,
            verbose: common.verbose && !common.quiet,
            paint: common.paint.err,
            redactor: Redactor::from_env(&common.env),
        }
    }

    fn say(&self, text: &str) {
        render::write(&self.redactor, Stream::Err, text);
    }
}

impl Observer for Stderr {
    fn note(&mut self, text: &str) {
        if self.notes {
            self.say(text);
        }
    }

    fn waiting(&mut self, text: &str) {
        // On stderr whatever the report's format (stdout holds the report alone), unless `-q`.
        if self.notes {
            self.say(text);
        }
    }

    fn started(&mut self, index: usize, total: usize, gate: &Gate) {
        let header = format!("[{index}/{total}] {}: {}", gate.id, gate.description);
        // `-q` drops the header, except as the group Actions folds the gate's output under.
        match (self.github, self.notes) {
            (true, _) => self.say(&format!("::group::{header}")),
            (false, true) => self.say(&header),
            (false, false) => {}
        }
    }

    fn line(&mut self, _gate: &Gate, line: &str) {
        // Already redacted as a stream (folded secrets) by the gate runner; again here so no
        // line reaches stderr any other way.
        self.say(&format!("    {line}"));
    }

    fn tick(&mut self, gate: &Gate, elapsed: Duration) {
        if !self.notes {
            return;
        }
        self.say(&format!("    ... {} still running ({})", gate.id, duration::format(elapsed)));
    }

    fn progress(&mut self, event: &Progress) {
        if !self.notes {
            return;
        }
        match event {
            Progress::Step { verb, what } => render::status(&self.redactor, verb, what),
            Progress::Round { round, missing, elapsed, budget, delay } => render::status(
                &self.redactor,
                "Waiting",
                &format!(
                    "{} then round {round}: {} still missing ({} elapsed of {})",
                    duration::format(*delay),
                    missing.join(", "),
                    duration::format(*elapsed),
                    duration::format(*budget)
                ),
            ),
            Progress::Request { method, url } if self.verbose => {
                render::status(&self.redactor, "Fetching", &format!("{method} {url}"))
            }
            Progress::Request { .. } => {}
            Progress::Retry { method, url, why, attempt, attempts, wait } => render::status(
                &self.redactor,
                "Retrying",
                &format!("{method} {url} ({why}, attempt {attempt}/{attempts} in {})", duration::format(*wait)),
            ),
        }
    }

    fn finished(&mut self, gate: &Gate, findings: &[Finding], elapsed: Duration) {
        let worst = findings.iter().map(|f| &f.outcome).max_by_key(|o| o.severity()).map_or("SKIP", |o| o.word());
        if self.notes {
            let worst = render::paint_word(worst, 0, self.paint);
            self.say(&format!("    {worst} {} ({})", gate.id, duration::format(elapsed)));
        }
        if self.github {
            self.say("::endgroup::");
        }
    }
}
