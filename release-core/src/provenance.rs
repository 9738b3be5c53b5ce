//! Build provenance: proves that a publish would use the right build.
//!
//! The publish workflow trusts one thing: the `release-metadata` artifact of a build run
//! (facts §6.4). The old inspect script checked the run's display name, its conclusion and
//! `version == tag - v`. Here every link of the chain is checked:
//!
//! - the run is of the policy's build workflow **file** (`[build] workflow`), whatever its
//!   display name, and it completed successfully;
//! - its metadata artifact exists, has not expired, matches its listed digest, and is a zip
//!   with no member escaping the archive and none over [`MAX_MEMBER`] bytes;
//! - `metadata.json` has string `tag`, `version` and `source_sha`; the tag is a release target,
//!   the version is the tag without `v`, and the tag is the expected one;
//! - `source_sha` is the run's head commit **and** the commit the tag points to on GitHub
//!   (and in the local repository, when it has the tag): the check the script never made;
//! - `source_run_id` and `source_ref`, when present, name this run and this tag;
//! - the run uploaded, unexpired, every per-target artifact the targets manifest requires
//!   (`dist-<rust_target>`, `py-dist-<sdk_platform>`, `node-native-<node_platform>`), and no
//!   SDK archive or wheel artifact for a target the manifest does not ship (bug 17: the publish
//!   workflow only counted "at least one" archive and wheel).
//!
//! With a tag instead of a run id, the run is the newest successful run of the build workflow
//! on the tag's commit, preferring runs triggered on the tag itself.

use std::io::Read as _;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::{
    context::Context,
    fetch::{Absent, FetchError, url_evidence},
    github::{Artifact, GitHub, Listed, Run},
    manifest::{self, Channel, Manifest, Tier},
    policy::BuildPolicy,
    registry,
    report::CheckId,
    report::Evidence,
    report::Finding,
    report::Outcome,
    report::Report,
    target::ReleaseTarget,
};

/// Largest member of the metadata artifact read, in bytes (`metadata.json` is a few hundred).
pub const MAX_MEMBER: u64 = 1024 * 1024;
/// Largest metadata artifact downloaded, in bytes (as listed by the API).
pub const MAX_ARTIFACT: u64 = 10 * 1024 * 1024;
/// Most members a metadata artifact may have.
pub const MAX_MEMBERS: usize = 64;
/// The member read from the artifact.
pub const METADATA_FILE: &str = "metadata.json";

/// Which build run to inspect.
#[derive(Debug, Clone)]
pub enum Which {
    /// This run id.
    Run(u64),
    /// The newest successful build run on this tag's commit; the tag is also the expected one.
    Tag(ReleaseTarget),
}

/// `metadata.json` as the build writes it (facts §6.1): every value a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `vX.Y.Z`.
    pub tag: String,
    /// `X.Y.Z`.
    pub version: String,
    /// The commit compiled.
    pub source_sha: String,
    /// `refs/tags/vX.Y.Z`, when written.
    pub source_ref: Option<String>,
    /// The run that wrote it, when written.
    pub source_run_id: Option<String>,
    /// The workflow's display name, when written (informational only).
    pub source_workflow: Option<String>,
}

/// Parses `metadata.json`: an object whose `tag`, `version` and `source_sha` are strings, and
/// whose optional `source_*` keys are strings when present. The error says which key is wrong.
pub fn parse_metadata(bytes: &[u8]) -> anyhow::Result<Metadata> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| anyhow::anyhow!("not JSON: {e}"))?;
    let Value::Object(map) = doc else { anyhow::bail!("not a JSON object") };
    let field = |key: &str| -> anyhow::Result<Option<String>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(anyhow::anyhow!("`{key}` is {other}, not a string")),
        }
    };
    let required = |key: &str| -> anyhow::Result<String> {
        field(key)?.filter(|s| !s.is_empty()).ok_or_else(|| anyhow::anyhow!("`{key}` is missing or empty"))
    };
    Ok(Metadata {
        tag: required("tag")?,
        version: required("version")?,
        source_sha: required("source_sha")?,
        source_ref: field("source_ref")?,
        source_run_id: field("source_run_id")?,
        source_workflow: field("source_workflow")?,
    })
}

/// Reads the member `name` at the root of a zip, without writing anything to disk. The whole
/// archive is refused when a member's name escapes it (`../x`, `/etc/x`), when a member is (or
/// inflates to) more than [`MAX_MEMBER`] bytes, or when it has more than [`MAX_MEMBERS`] members.
pub fn read_member(zip_bytes: &[u8], name: &str) -> anyhow::Result<Vec<u8>> {
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).map_err(|e| anyhow::anyhow!("not a zip archive: {e}"))?;
    if zip.len() > MAX_MEMBERS {
        anyhow::bail!("{} members, more than the {MAX_MEMBERS} a metadata artifact may have", zip.len());
    }
    let mut found = None;
    let mut names = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| anyhow::anyhow!("member {i} is unreadable: {e}"))?;
        let raw = entry.name().map_err(|e| anyhow::anyhow!("member {i} has an unreadable name: {e}"))?.to_string();
        // `enclosed_name` alone forgives a leading `/`; an absolute name is refused here too.
        let absolute = raw.starts_with(['/', '\\']) || raw.as_bytes().get(1) == Some(&b':');
        if absolute || entry.enclosed_name().is_none() || raw.split(['/', '\\']).any(|part| part == "..") {
            anyhow::bail!("member `{raw}` escapes the archive (path traversal)");
        }
        if entry.size() > MAX_MEMBER {
            anyhow::bail!("member `{raw}` is {} bytes, over the {MAX_MEMBER}-byte limit", entry.size());
        }
        if raw == name {
            // Read at most one byte past the limit: a header that lies about the size (a zip
            // bomb) is caught by what actually inflates.
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_MEMBER + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| anyhow::anyhow!("member `{raw}` is unreadable: {e}"))?;
            if bytes.len() as u64 > MAX_MEMBER {
                anyhow::bail!("member `{raw}` inflates past the {MAX_MEMBER}-byte limit");
            }
            found = Some(bytes);
        }
        names.push(raw);
    }
    found.ok_or_else(|| {
        anyhow::anyhow!(
            "no `{name}` at the root of the archive (members: {})",
            if names.is_empty() { "none".into() } else { names.join(", ") }
        )
    })
}

/// What was read, for the summary.
#[derive(Debug, Default)]
struct Seen {
    run: Option<Run>,
    artifact: Option<Artifact>,
    metadata: Option<Metadata>,
    tag_commit: Option<String>,
}

impl Seen {
    fn summary(&self) -> Value {
        let run = self.run.as_ref();
        let meta = self.metadata.as_ref();
        json!({
            "run_id": run.map(|r| r.id.to_string()),
            "workflow_name": run.map(|r| r.name.clone()),
            "workflow_path": run.map(|r| r.path.clone()),
            "run_status": run.map(|r| r.status.clone()),
            "run_conclusion": run.and_then(|r| r.conclusion.clone()),
            "run_url": run.and_then(|r| r.html_url.clone()),
            "run_event": run.map(|r| r.event.clone()),
            "run_head_sha": run.map(|r| r.head_sha.clone()),
            "run_head_branch": run.and_then(|r| r.head_branch.clone()),
            "artifact_id": self.artifact.as_ref().map(|a| a.id.to_string()),
            "artifact_digest": self.artifact.as_ref().and_then(|a| a.digest.clone()),
            "metadata_tag": meta.map(|m| m.tag.clone()),
            "metadata_version": meta.map(|m| m.version.clone()),
            "metadata_source_sha": meta.map(|m| m.source_sha.clone()),
            "metadata_source_ref": meta.and_then(|m| m.source_ref.clone()),
            "metadata_source_run_id": meta.and_then(|m| m.source_run_id.clone()),
            "metadata_source_workflow": meta.and_then(|m| m.source_workflow.clone()),
            "tag_commit": self.tag_commit,
        })
    }
}

/// Inspects a build run. Configuration problems (no `[build]`, no `[project] github`) are
/// errors; everything read from GitHub becomes findings, with the run and metadata in the
/// report's `summary`.
pub fn check(cx: &Context, which: &Which, expect: Option<&ReleaseTarget>) -> anyhow::Result<Report> {
    let build = cx.policy.build.as_ref().with_context(|| {
        format!("{}: provenance needs a [build] table naming the release build workflow file", cx.policy.path)
    })?;
    let repo = cx
        .policy
        .project
        .github
        .as_deref()
        .with_context(|| format!("{}: provenance needs `github = \"owner/repo\"` in [project]", cx.policy.path))?;
    let manifest = match &cx.policy.targets {
        Some(t) => Some(manifest::load(&cx.repo.path(&t.manifest), t.manifest.as_str())?),
        None => None,
    };
    let expect = match which {
        Which::Tag(tag) => Some(tag),
        Which::Run(_) => expect,
    };
    let gh = GitHub::new(&cx.http, cx.http.github_api(), repo);
    let mut seen = Seen::default();
    let mut out = Vec::new();
    inspect(cx, &gh, build, which, expect, manifest.as_ref(), &mut seen, &mut out);
    let target = expect
        .map(ReleaseTarget::tag)
        .or_else(|| seen.metadata.as_ref().and_then(|m| ReleaseTarget::parse(&m.tag).ok()).map(|t| t.tag()));
    let mut report = Report::new("provenance", target, out);
    report.summary = Some(seen.summary());
    Ok(report)
}

/// Each step pushes its findings to `out` and returns what the next step needs, or `None`
/// when the chain stops there (its finding says why).
#[allow(clippy::too_many_arguments)] // one per input of the chain; bundling them hides nothing
fn inspect(
    cx: &Context,
    gh: &GitHub<'_>,
    build: &BuildPolicy,
    which: &Which,
    expect: Option<&ReleaseTarget>,
    manifest: Option<&Manifest>,
    seen: &mut Seen,
    out: &mut Vec<Finding>,
) {
    let run = match which {
        Which::Run(id) => fetch_run(gh, *id, out),
        Which::Tag(tag) => find_run(gh, build, tag, seen, out),
    };
    let Some(run) = run else { return };
    let fallback = format!("{}/actions/runs/{}", gh.repo_url(), run.id);
    let run_ev = url_evidence(run.html_url.as_deref().unwrap_or(&fallback), None);
    let run_level = [workflow_finding(&run, build, &run_ev), conclusion_finding(&run, &run_ev)];
    let usable = run_level.iter().all(|f| f.outcome == Outcome::Pass);
    out.extend(run_level);
    seen.run = Some(run.clone());
    if !usable {
        // Not the release build, or not a finished good one: its artifacts prove nothing.
        return;
    }
    // One listing serves the metadata artifact and the per-target artifacts.
    let listed = gh.run_artifacts(run.id);
    if let Some(metadata) = metadata(gh, &run, build, &listed, seen, out) {
        seen.metadata = Some(metadata.clone());
        out.extend(metadata_findings(&metadata, &run, expect, &run_ev));
        out.push(tag_commit_finding(cx, gh, &metadata, expect, seen));
    }
    // Independent of the metadata: a run with bad metadata may also miss platforms.
    out.extend(target_artifact_findings(manifest, &run, &listed));
}

/// `GET /actions/runs/{id}`.
fn fetch_run(gh: &GitHub<'_>, id: u64, out: &mut Vec<Finding>) -> Option<Run> {
    match gh.run(&id.to_string()) {
        Ok(run) => Some(run.doc),
        Err(e) => {
            let absent = format!("no workflow run {id} in the repository");
            out.push(e.finding(&CheckId::PROVENANCE_RUN, &format!("build run {id}"), Absent::Fail(&absent)));
            None
        }
    }
}

/// The newest successful run of the build workflow on the tag's commit (on GitHub), preferring
/// runs triggered on the tag itself (`head_branch` = the tag).
fn find_run(
    gh: &GitHub<'_>,
    build: &BuildPolicy,
    tag: &ReleaseTarget,
    seen: &mut Seen,
    out: &mut Vec<Finding>,
) -> Option<Run> {
    let check = CheckId::PROVENANCE_RUN;
    let sha = match gh.tag_commit(&tag.tag()) {
        Ok(sha) => sha.doc,
        Err(e) => {
            out.push(e.finding(&check, &tag.tag()));
            return None;
        }
    };
    seen.tag_commit = Some(sha.clone());
    let subject = format!("{} runs on {} ({sha})", build.workflow, tag.tag());
    let listed = match gh.workflow_runs(&build.workflow, &sha, true) {
        Ok(listed) => listed,
        Err(e) => {
            let absent = format!("no workflow file {} in the repository", build.workflow);
            out.push(e.finding(&check, &subject, Absent::Fail(&absent)));
            return None;
        }
    };
    let ev = url_evidence(&listed.url, Some(200));
    let mut runs: Vec<Run> =
        listed.items.into_iter().filter(|r| r.head_sha == sha && r.conclusion.as_deref() == Some("success")).collect();
    runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let on_tag = runs.iter().position(|r| r.head_branch.as_deref() == Some(tag.tag().as_str()));
    let Some(run) = on_tag.or((!runs.is_empty()).then_some(0)).map(|i| runs.swap_remove(i)) else {
        out.push(
            Finding::fail(
                &check,
                &subject,
                format!(
                    "no successful {} run on the tag's commit {sha}: push the tag, or dispatch {} on the tag ref",
                    build.workflow, build.workflow
                ),
            )
            .with(ev),
        );
        return None;
    };
    out.push(
        Finding::pass(
            &check,
            &subject,
            format!(
                "run {} ({} on {}) is the newest successful run of {} on the tag's commit",
                run.id,
                run.event,
                run.head_branch.as_deref().unwrap_or("?"),
                build.workflow
            ),
        )
        .with(ev),
    );
    Some(run)
}

fn workflow_finding(run: &Run, build: &BuildPolicy, ev: &Evidence) -> Finding {
    let check = CheckId::PROVENANCE_WORKFLOW;
    let subject = format!("build run {}", run.id);
    if run.path.is_empty() {
        Finding::incomplete(
            &check,
            &subject,
            "the API gave no workflow path for the run: which workflow built it is unknown",
        )
        .with(ev.clone())
    } else if run.is_of_workflow(&build.workflow) {
        Finding::pass(&check, &subject, format!("is a run of {} (\"{}\")", run.path, run.name)).with(ev.clone())
    } else {
        Finding::fail(
            &check,
            &subject,
            format!(
                "is a run of `{}` (display name \"{}\"), not of .github/workflows/{}: publish must use the release build",
                run.path, run.name, build.workflow
            ),
        )
        .with(ev.clone())
    }
}

fn conclusion_finding(run: &Run, ev: &Evidence) -> Finding {
    let check = CheckId::PROVENANCE_CONCLUSION;
    let subject = format!("build run {}", run.id);
    match (run.status.as_str(), run.conclusion.as_deref()) {
        ("completed", Some("success")) => Finding::pass(&check, &subject, "completed with success"),
        ("completed", other) => Finding::fail(
            &check,
            &subject,
            format!("completed with {}: its artifacts are not a release build", other.unwrap_or("no conclusion")),
        ),
        (status, _) => {
            Finding::incomplete(&check, &subject, format!("is still {status}; inspect it once it completes"))
        }
    }
    .with(ev.clone())
}

/// Lists the run's metadata artifact, downloads it and reads `metadata.json`.
fn metadata(
    gh: &GitHub<'_>,
    run: &Run,
    build: &BuildPolicy,
    listed: &Result<Listed<Artifact>, FetchError>,
    seen: &mut Seen,
    out: &mut Vec<Finding>,
) -> Option<Metadata> {
    let check = CheckId::PROVENANCE_ARTIFACT;
    let name = &build.metadata_artifact;
    let subject = format!("artifact {name} of run {}", run.id);
    let mut stop = |finding: Finding| {
        out.push(finding);
        None
    };
    let fail = |detail: String, ev: Evidence| Finding::fail(&check, &subject, detail).with(ev);
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => return stop(e.finding(&check, &subject, Absent::Fail("the run is gone"))),
    };
    let listed_ev = url_evidence(&listed.url, Some(200));
    let mut artifacts: Vec<Artifact> = listed.items.iter().filter(|a| &a.name == name).cloned().collect();
    artifacts.sort_by_key(|a| a.expired);
    let Some(artifact) = artifacts.into_iter().next() else {
        return stop(fail(
            format!("the run uploaded no artifact named {name}: publish could not resolve it"),
            listed_ev,
        ));
    };
    seen.artifact = Some(artifact.clone());
    let ev = url_evidence(&artifact.archive_download_url, None);
    if artifact.expired {
        return stop(fail("the artifact has expired (past its retention): rebuild the tag".into(), ev));
    }
    if artifact.size_in_bytes > MAX_ARTIFACT {
        return stop(fail(
            format!(
                "the artifact is {} bytes; a metadata artifact is far under {MAX_ARTIFACT}",
                artifact.size_in_bytes
            ),
            ev,
        ));
    }
    if !gh.http().has_token() {
        return stop(
            Finding::incomplete(
                &check,
                &subject,
                "downloading an artifact needs a GitHub token with Actions: read, even on a public repository (GH_TOKEN, GITHUB_TOKEN or `gh auth login`)",
            )
            .with(ev),
        );
    }
    let r = match gh.artifact_zip(&artifact) {
        Ok(r) => r,
        Err(e) => {
            let absent = if e.absent_status() == Some(410) {
                "the artifact has expired (HTTP 410)"
            } else {
                "the artifact download is missing"
            };
            return stop(e.finding(&check, &subject, Absent::Fail(absent)));
        }
    };
    let got = format!("sha256:{}", registry::sha256_hex(&r.body));
    if let Some(listed) = artifact.digest.as_deref().filter(|d| d.starts_with("sha256:"))
        && listed != got
    {
        return stop(fail(format!("the download's digest is {got}, the API lists {listed}"), ev));
    }
    let bytes = match read_member(&r.body, METADATA_FILE) {
        Ok(bytes) => bytes,
        Err(e) => return stop(fail(format!("{e:#}"), ev)),
    };
    match parse_metadata(&bytes) {
        Ok(m) => Some(m),
        Err(e) => stop(
            Finding::fail(CheckId::PROVENANCE_METADATA, &subject, format!("{METADATA_FILE}: {e:#}")).with(ev.clone()),
        ),
    }
}

/// An artifact the build run must have uploaded for one target of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetArtifact {
    /// `dist-<rust_target>`, `py-dist-<sdk_platform>` or `node-native-<node_platform>`.
    pub name: String,
    /// The target's Rust triple.
    pub rust_target: String,
    /// The channel that ships what the artifact holds.
    pub channel: Channel,
    /// The target's tier in that channel.
    pub tier: Tier,
}

/// Prefixes of the artifacts whose every file publish ships (`collect-build-artifacts` globs
/// SDK archives and wheels from the whole download): one for a target the manifest does not
/// ship would be published anyway. `node-native-*` is absent: release.yml uploads one for
/// every target and the npm package takes only its own list.
const SHIPPED_PREFIXES: [&str; 2] = ["dist-", "py-dist-"];

/// The per-target artifacts the build uploads for what the manifest ships (facts §6.1), in
/// manifest order: `dist-<rust_target>` for a `github_sdk` target (its SDK archive),
/// `py-dist-<sdk_platform>` for a `pypi` target (its wheel), `node-native-<node_platform>`
/// for an `npm` target (its native addon). Preview targets count as official ones: the build
/// matrix is the whole manifest and publish ships every archive and wheel it finds, so a
/// missing preview artifact is as much a different build as a missing official one.
pub fn target_artifacts(manifest: &Manifest) -> Vec<TargetArtifact> {
    let mut out = Vec::new();
    for t in &manifest.targets {
        let names = [
            (Channel::Github, format!("dist-{}", t.rust_target)),
            (Channel::Pypi, format!("py-dist-{}", t.sdk_platform)),
            (Channel::Npm, format!("node-native-{}", t.node_platform)),
        ];
        for (channel, name) in names {
            if let Some(tier) = t.tier(channel) {
                out.push(TargetArtifact { name, rust_target: t.rust_target.clone(), channel, tier });
            }
        }
    }
    out
}

/// One finding per artifact the manifest requires (present and unexpired, missing, or
/// expired), and one per SDK archive or wheel artifact of a target the manifest does not ship.
fn target_artifact_findings(
    manifest: Option<&Manifest>,
    run: &Run,
    listed: &Result<Listed<Artifact>, FetchError>,
) -> Vec<Finding> {
    let check = CheckId::PROVENANCE_TARGET_ARTIFACTS;
    let subject = format!("per-target artifacts of run {}", run.id);
    let Some(manifest) = manifest else {
        let why = "the policy has no [targets] manifest: which artifacts the build must upload is unknown";
        return vec![Finding::new(check, subject, Outcome::skipped(why), why)];
    };
    let listed = match listed {
        Ok(listed) => listed,
        // The run was just read: a listing that fails, even with 404, leaves the question open.
        Err(e) => return vec![e.finding(&check, &subject, Absent::Incomplete("the run's artifact list is missing"))],
    };
    let ev = url_evidence(&listed.url, Some(200));
    let expected = target_artifacts(manifest);
    let mut out = Vec::new();
    for want in &expected {
        let subject = format!("artifact {} of run {}", want.name, run.id);
        let tier = match want.tier {
            Tier::Official => "official",
            Tier::Preview => "preview",
        };
        let what = format!("{} ({} {tier} in {})", want.name, want.rust_target, want.channel);
        let same: Vec<&Artifact> = listed.items.iter().filter(|a| a.name == want.name).collect();
        let finding = if same.iter().any(|a| !a.expired) {
            Finding::pass(&check, &subject, format!("{what} was uploaded"))
        } else if same.is_empty() {
            Finding::fail(
                &check,
                &subject,
                format!("the run uploaded no {what}: publish would ship the release without it"),
            )
        } else {
            Finding::fail(&check, &subject, format!("{what} has expired (past its retention): rebuild the tag"))
        };
        out.push(finding.with(ev.clone()));
    }
    for extra in listed.items.iter().filter(|a| {
        SHIPPED_PREFIXES.iter().any(|p| a.name.starts_with(p)) && !expected.iter().any(|w| w.name == a.name)
    }) {
        out.push(
            Finding::fail(
                &check,
                format!("artifact {} of run {}", extra.name, run.id),
                format!(
                    "no target of the manifest ships {}: publish would ship its files anyway; this run is not a build of this manifest",
                    extra.name
                ),
            )
            .with(ev.clone()),
        );
    }
    out
}

/// The checks on the metadata's own fields and against the run.
fn metadata_findings(m: &Metadata, run: &Run, expect: Option<&ReleaseTarget>, ev: &Evidence) -> Vec<Finding> {
    // The subject names the metadata field: the id's last segment (`provenance.source-sha`).
    let f = |check: CheckId, outcome: Outcome, detail: String| {
        let what = check.as_str().trim_start_matches("provenance.").to_string();
        Finding::new(check, format!("metadata {what}"), outcome, detail).with(ev.clone())
    };
    let skip = |check: CheckId, reason: &str| f(check, Outcome::skipped(reason), reason.to_string());
    let mut out = Vec::new();
    let target = ReleaseTarget::parse(&m.tag).ok().filter(|t| m.tag.starts_with('v') && t.tag() == m.tag);
    out.push(match &target {
        Some(_) => f(CheckId::PROVENANCE_TAG, Outcome::Pass, format!("`{}` is a release target", m.tag)),
        None => f(
            CheckId::PROVENANCE_TAG,
            Outcome::Fail,
            format!("`{}` is not a release tag (vX.Y.Z or vX.Y.Z-rc.N)", m.tag),
        ),
    });
    let wanted = m.tag.strip_prefix('v').unwrap_or(&m.tag);
    out.push(if m.version == wanted {
        f(CheckId::PROVENANCE_VERSION, Outcome::Pass, format!("`{}` is the tag without `v`", m.version))
    } else {
        f(
            CheckId::PROVENANCE_VERSION,
            Outcome::Fail,
            format!("`{}` is not the tag `{}` without `v` (`{wanted}`)", m.version, m.tag),
        )
    });
    out.push(match expect {
        Some(e) if e.tag() == m.tag => {
            f(CheckId::PROVENANCE_EXPECTED_TAG, Outcome::Pass, format!("`{}` is the expected tag", m.tag))
        }
        Some(e) => f(
            CheckId::PROVENANCE_EXPECTED_TAG,
            Outcome::Fail,
            format!("the build is of `{}`, not of the expected {}", m.tag, e.tag()),
        ),
        None => {
            skip(CheckId::PROVENANCE_EXPECTED_TAG, "no --expect-tag given: the build is whatever its metadata says")
        }
    });
    let sha_ok = m.source_sha.len() == 40 && m.source_sha.bytes().all(|b| b.is_ascii_hexdigit());
    out.push(if !sha_ok {
        f(CheckId::PROVENANCE_SOURCE_SHA, Outcome::Fail, format!("`{}` is not a 40-hex commit id", m.source_sha))
    } else if m.source_sha.eq_ignore_ascii_case(&run.head_sha) {
        f(CheckId::PROVENANCE_SOURCE_SHA, Outcome::Pass, format!("{} is the run's head commit", m.source_sha))
    } else {
        f(
            CheckId::PROVENANCE_SOURCE_SHA,
            Outcome::Fail,
            format!("the build compiled {}, but the run's head commit is {}", m.source_sha, run.head_sha),
        )
    });
    out.push(match &m.source_run_id {
        Some(id) if *id == run.id.to_string() => {
            f(CheckId::PROVENANCE_SOURCE_RUN_ID, Outcome::Pass, format!("{id} is this run"))
        }
        Some(id) => f(
            CheckId::PROVENANCE_SOURCE_RUN_ID,
            Outcome::Fail,
            format!("the metadata was written by run {id}, not by run {}: the artifact was copied", run.id),
        ),
        None => skip(CheckId::PROVENANCE_SOURCE_RUN_ID, "the metadata has no source_run_id"),
    });
    let wanted_ref = format!("refs/tags/{}", m.tag);
    out.push(match &m.source_ref {
        Some(r) if *r == wanted_ref => {
            f(CheckId::PROVENANCE_SOURCE_REF, Outcome::Pass, format!("{r} is the tag's ref"))
        }
        Some(r) => f(CheckId::PROVENANCE_SOURCE_REF, Outcome::Fail, format!("`{r}` is not {wanted_ref}")),
        None => skip(CheckId::PROVENANCE_SOURCE_REF, "the metadata has no source_ref"),
    });
    out
}

/// `source_sha` against the commit the tag points to on GitHub, and in the local repository
/// when it has the tag.
fn tag_commit_finding(
    cx: &Context,
    gh: &GitHub<'_>,
    m: &Metadata,
    expect: Option<&ReleaseTarget>,
    seen: &mut Seen,
) -> Finding {
    let check = CheckId::PROVENANCE_TAG_COMMIT;
    let Some(tag) = ReleaseTarget::parse(&m.tag).ok().filter(|t| t.tag() == m.tag).or_else(|| expect.cloned()) else {
        return Finding::incomplete(
            &check,
            "metadata tag commit",
            "no release tag to resolve: the metadata's tag is not one",
        );
    };
    let subject = format!("tag {} commit", tag.tag());
    let (sha, url) = match &seen.tag_commit {
        Some(sha) if expect.is_some_and(|e| e == &tag) => (sha.clone(), None),
        _ => match gh.tag_commit(&tag.tag()) {
            Ok(sha) => (sha.doc, Some(sha.url)),
            Err(e) => return e.finding(&check, &tag.tag()),
        },
    };
    seen.tag_commit = Some(sha.clone());
    // A repository without the tag (a fresh CI clone) has nothing to compare.
    let local = cx.repo.tag_commit(&tag.tag()).ok().flatten();
    let finding = match local {
        Some(local) if !local.eq_ignore_ascii_case(&sha) => Finding::fail(
            &check,
            &subject,
            format!("{} points at {sha} on GitHub but at {local} locally: the tag was moved", tag.tag()),
        ),
        _ if m.source_sha.eq_ignore_ascii_case(&sha) => {
            Finding::pass(&check, &subject, format!("the build compiled {sha}, the commit {} points to", tag.tag()))
        }
        _ => Finding::fail(
            &check,
            &subject,
            format!(
                "the build compiled {}, but {} points to {sha}: this build is not of the tag",
                m.source_sha,
                tag.tag()
            ),
        ),
    };
    match url {
        Some(url) => finding.with(url_evidence(&url, Some(200))),
        None => finding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fake_registry::zip_bytes;

    #[test]
    fn metadata_fields_are_strings() {
        let ok = br#"{"tag":"v0.8.0","version":"0.8.0","source_sha":"abc","source_run_id":"12"}"#;
        let m = parse_metadata(ok).unwrap();
        assert_eq!((m.tag.as_str(), m.source_run_id.as_deref(), m.source_ref), ("v0.8.0", Some("12"), None));
        for (bad, says) in [
            (&br#"{"tag":"v0.8.0","version":"0.8.0"}"#[..], "`source_sha` is missing"),
            (br#"{"tag":"v0.8.0","version":0.8,"source_sha":"a"}"#, "`version` is 0.8, not a string"),
            (br#"{"tag":"","version":"0.8.0","source_sha":"a"}"#, "`tag` is missing or empty"),
            (br#"{"tag":"v1","version":"1","source_sha":"a","source_run_id":12}"#, "`source_run_id` is 12"),
            (br#"["tag"]"#, "not a JSON object"),
            (b"{", "not JSON"),
        ] {
            let e = parse_metadata(bad).unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn zip_members_are_read_exactly_and_safely() {
        let good = zip_bytes(&[("metadata.json", b"{}")]).unwrap();
        assert_eq!(read_member(&good, "metadata.json").unwrap(), b"{}");
        let nested = zip_bytes(&[("dir/metadata.json", b"{}")]).unwrap();
        assert!(
            read_member(&nested, "metadata.json").unwrap_err().to_string().contains("no `metadata.json` at the root")
        );
        for evil in ["../metadata.json", "a/../../x", "/etc/passwd", "C:\\x", "a\\..\\..\\x"] {
            let z = zip_bytes(&[("metadata.json", b"{}"), (evil, b"x")]).unwrap();
            assert!(
                read_member(&z, "metadata.json").unwrap_err().to_string().contains("escapes the archive"),
                "{evil}"
            );
        }
        // 2 MiB of zeros deflate to a few KiB: the limit is on what inflates.
        let big = vec![0u8; 2 * 1024 * 1024];
        let bomb = zip_bytes(&[("metadata.json", &big)]).unwrap();
        assert!(bomb.len() < 64 * 1024);
        assert!(read_member(&bomb, "metadata.json").unwrap_err().to_string().contains("bytes, over the"));
        let many: Vec<(String, Vec<u8>)> = (0..=MAX_MEMBERS).map(|i| (format!("f{i}"), Vec::new())).collect();
        let many: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        assert!(read_member(&zip_bytes(&many).unwrap(), "f0").unwrap_err().to_string().contains("members"));
        assert!(read_member(b"PK\x03\x04 not really", "metadata.json").unwrap_err().to_string().contains("not a zip"));
    }

    #[test]
    fn target_artifacts_follow_the_channels_and_count_preview_targets() {
        let m = crate::testing::plasmite_manifest();
        let names: Vec<String> = target_artifacts(&m).into_iter().map(|a| a.name).collect();
        assert_eq!(names.len(), 10, "{names:?}");
        assert!(names.contains(&"py-dist-darwin_arm64".to_string()), "{names:?}");
        assert!(!names.contains(&"dist-x86_64-pc-windows-msvc".to_string()), "no SDK on Windows: {names:?}");
        assert!(!names.contains(&"py-dist-linux_amd64".to_string()), "linux ships the sdist only: {names:?}");
        // A preview-only SDK target is built and shipped too: its archive is required.
        let mut preview = m.clone();
        let mut arm = preview.targets[0].clone();
        arm.rust_target = "aarch64-unknown-linux-gnu".into();
        arm.channels = [(Channel::Github, Some(Tier::Preview))].into_iter().collect();
        preview.targets.push(arm);
        let got = target_artifacts(&preview);
        let arm = got.iter().find(|a| a.rust_target == "aarch64-unknown-linux-gnu").unwrap();
        assert_eq!(
            (arm.name.as_str(), arm.channel, arm.tier),
            ("dist-aarch64-unknown-linux-gnu", Channel::Github, Tier::Preview)
        );
        assert_eq!(got.len(), 11, "only the channels it is in: {got:?}");
    }

    #[test]
    fn workflow_is_compared_by_file() {
        let run = |path: &str| Run { path: path.into(), name: "release".into(), ..Run::default() };
        assert!(run(".github/workflows/release.yml").is_of_workflow("release.yml"));
        assert!(run(".github/workflows/release.yml@refs/heads/main").is_of_workflow("release.yml"));
        assert!(!run(".github/workflows/release-copy.yml").is_of_workflow("release.yml"));
        assert!(!run(".github/workflows/pre-release.yml").is_of_workflow("release.yml"));
        assert!(!run("").is_of_workflow("release.yml"));
        let build = BuildPolicy { workflow: "release.yml".into(), metadata_artifact: "release-metadata".into() };
        let ev = url_evidence("http://127.0.0.1/run", None);
        assert_eq!(workflow_finding(&run(""), &build, &ev).outcome, Outcome::Incomplete, "no path: unknown");
        assert_eq!(workflow_finding(&run(".github/workflows/x.yml"), &build, &ev).outcome, Outcome::Fail);
        assert_eq!(workflow_finding(&run(".github/workflows/release.yml"), &build, &ev).outcome, Outcome::Pass);
    }
}
