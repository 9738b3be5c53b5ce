//! `tag vX.Y.Z`: the annotated release tag (and a nested module's prefixed tag), created at
//! HEAD and pushed in one push, only when the record says the release commit is ready.
//!
//! Refused (a `Fail` for each reason, nothing created) unless: the record's mode is live; every
//! QA gate holds at exactly HEAD (a complete run, or waivers given there: the derived state of
//! `status`); no blocker is open; the work tree is clean; HEAD is pushed. A tag that already
//! points at HEAD is kept (and pushed if it was not); a tag at another commit is never moved.

use serde_json::json;

use super::{Recorded, record};
use crate::{
    changelog,
    context::Context,
    evidence::{self, LiveState, Mode},
    repo::PushState,
    report::{CheckId, Evidence, Finding, Report},
    target::ReleaseTarget,
};

/// `tag vX.Y.Z [--remote NAME]`.
#[derive(Debug, Clone)]
pub struct TagRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// Where to push [default: the policy's `[release] remote`, else `origin`].
    pub remote: Option<String>,
}

/// What `tag` did (also in the report's summary).
#[derive(Debug, Clone)]
pub struct TagOutcome {
    /// The report, recorded in the evidence.
    pub recorded: Recorded,
    /// Every tag now at HEAD (the release tag first), empty when refused.
    pub tags: Vec<String>,
}

/// Why a release commit may not be tagged now; empty when it may. Shared with `next`.
pub(crate) fn refusals(cx: &Context, target: &ReleaseTarget) -> anyhow::Result<Vec<String>> {
    let t = target.tag();
    let Some(record) = evidence::load(&cx.repo, target)? else {
        return Ok(vec![format!(
            "no evidence record for {t}: `cargo xtask release evidence {t} --mode live --agent <you>`, then `qa {t}`"
        )]);
    };
    let mut why = Vec::new();
    match record.mode {
        Mode::Live => {}
        Mode::DryRun => why.push(format!(
            "the record's mode is dry-run: a dry run never pushes a tag (it would create the annotated tag {t} at HEAD and push it to {})",
            remote_of(cx, None)
        )),
        Mode::Unset => why.push(format!(
            "the record's mode is not set: `cargo xtask release evidence {t} --mode live --agent <you>`"
        )),
    }
    let live = LiveState::read_for_record(&cx.repo, target);
    let head = cx.repo.head()?;
    // The gates are judged at HEAD: the commit the tag will point to.
    let at_head = LiveState { tag_local: None, commit: Some(head.clone()), ..live.clone() };
    let derived = evidence::derive(&record, &at_head, &super::record::required(cx)?);
    let not_holding: Vec<String> =
        derived.gates.iter().filter(|g| !g.holds()).map(evidence::CheckState::describe).collect();
    if !not_holding.is_empty() {
        why.push(format!(
            "the QA gates do not all hold at HEAD {}: {}; run `cargo xtask release qa {t}` at this commit",
            short(&head),
            not_holding.join("; ")
        ));
    }
    let open = record.open_blockers();
    if !open.is_empty() {
        why.push(format!("open blockers: {}", open.join("; ")));
    }
    let dirty = cx.repo.dirty_files()?;
    if !dirty.is_empty() {
        why.push(format!("the work tree is not clean: {}", dirty.join(", ")));
    }
    match live.push {
        Some(PushState::UpToDate) => {}
        Some(PushState::Diverged { ahead, behind }) => {
            why.push(format!("HEAD is {ahead} ahead and {behind} behind its upstream: push it first"))
        }
        other => why.push(format!("HEAD is not pushed to an upstream branch ({other:?})")),
    }
    for tag in tag_names(cx, target) {
        if let Some(at) = cx.repo.tag_commit(&tag)?
            && at != head
        {
            why.push(format!(
                "the tag {tag} already points at {}, not HEAD {}: a release tag is never moved",
                short(&at),
                short(&head)
            ));
        }
    }
    Ok(why)
}

fn remote_of(cx: &Context, asked: Option<&str>) -> String {
    asked.map_or_else(|| cx.policy.release.remote.clone(), str::to_string)
}

/// The release tag, then each nested module's prefixed tag (`bindings/go/vX.Y.Z`).
pub(crate) fn tag_names(cx: &Context, target: &ReleaseTarget) -> Vec<String> {
    let t = target.tag();
    std::iter::once(t.clone())
        .chain(cx.policy.release.nested_modules.iter().map(|m| format!("{}/{t}", m.as_str().trim_end_matches('/'))))
        .collect()
}

/// Tags HEAD and pushes the tags, or says why not; records the report.
pub fn tag(cx: &Context, request: &TagRequest) -> anyhow::Result<TagOutcome> {
    let target = &request.target;
    let t = target.tag();
    let remote = remote_of(cx, request.remote.as_deref());
    let why = refusals(cx, target)?;
    if !why.is_empty() {
        let findings = why.into_iter().map(|w| Finding::fail(CheckId::TAG_REFUSED, &t, w)).collect();
        let recorded = record(cx, Some(target), Report::new("tag", Some(t), findings))?;
        return Ok(TagOutcome { recorded, tags: Vec::new() });
    }
    let notes = notes(cx, target)?;
    let head = cx.repo.head()?;
    let tags = tag_names(cx, target);
    let mut findings = Vec::new();
    for tag in &tags {
        if cx.repo.tag_commit(tag)?.is_none() {
            cx.repo.create_tag(tag, &notes)?;
            findings.push(Finding::pass(CheckId::TAG, tag, format!("created at HEAD {}", short(&head))));
        } else {
            findings.push(Finding::pass(CheckId::TAG, tag, "already at HEAD: kept"));
        }
    }
    let refs: Vec<String> = tags.iter().map(|t| format!("refs/tags/{t}")).collect();
    let argv: Vec<String> =
        ["git", "push", "--atomic", &remote].iter().map(|s| s.to_string()).chain(refs.iter().cloned()).collect();
    let pushed = cx.repo.push_refs(&remote, &refs);
    let evidence = Evidence::Command { argv, exit_code: Some(i32::from(pushed.is_err())), tail: String::new() };
    match pushed {
        Ok(()) => findings.push(
            Finding::pass(CheckId::TAG, format!("push to {remote}"), format!("pushed {} in one push", tags.join(", ")))
                .with(evidence),
        ),
        Err(e) => findings.push(
            Finding::fail(CheckId::TAG, format!("push to {remote}"), format!("the push failed: {e:#}")).with(evidence),
        ),
    }
    let object = cx.repo.git(&["rev-parse", &format!("refs/tags/{t}")])?.trim().to_string();
    let mut report = Report::new("tag", Some(t.clone()), findings);
    report.summary =
        Some(json!({"tag": t, "tag_object": object, "commit": head, "remote": remote, "tags": tags.clone()}));
    let recorded = record(cx, Some(target), report)?;
    Ok(TagOutcome { recorded, tags })
}

/// The changelog's notes for the release: the tag's message.
fn notes(cx: &Context, target: &ReleaseTarget) -> anyhow::Result<String> {
    let Some(policy) = &cx.policy.changelog else {
        return Ok(format!("Release {}", target.tag()));
    };
    let path = cx.repo.path(&policy.file);
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", policy.file))?;
    let parsed = changelog::parse(&policy.file, &text)?;
    match parsed.notes(target) {
        Some(notes) if !notes.trim().is_empty() => Ok(format!("{}\n\n{}", target.tag(), notes.trim_end())),
        _ => anyhow::bail!(
            "{} has no notes for {}: the tag's message is the release notes (`cargo xtask release changelog {} --finalize`)",
            policy.file,
            target.version(),
            target.tag()
        ),
    }
}

/// The first 12 characters of a commit id, for people.
fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}
