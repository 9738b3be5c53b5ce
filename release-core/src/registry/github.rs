//! GitHub: the release for the tag (published, `prerelease` matching the target), its assets
//! (one SDK archive per github_sdk-official target plus the sums file), the sums file against
//! the assets' `digest`s, the tag's commit, and the CI workflow's runs for that commit. Every
//! read goes through the one client, [`crate::github::GitHub`].

use super::{Probe, SumLine, asset_name, parse_sums, sum_for};
use crate::{
    fetch::{Absent, FetchError, url_evidence},
    github::{self, Asset, GitHub, Release, Run, TagCommitError},
    http::{Download, Http},
    manifest::Tier,
    parallel,
    policy::Policy,
    report::CheckId,
    report::{Finding, Outcome},
};

const CHECK: CheckId = CheckId::VERIFY_GITHUB;
/// Check id of the "release is published" finding.
pub const PUBLISHED: CheckId = CheckId::VERIFY_GITHUB_PUBLISHED;
const CI: CheckId = CheckId::VERIFY_CI;
const NO_PROJECT: &str = "no project.github in the policy";

/// Why the release of the target's tag is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseError {
    /// The policy names no GitHub repository.
    NoProject,
    /// Reading it failed (absent: not published, or still a draft).
    Fetch(FetchError),
    /// The API answered with another tag.
    WrongTag {
        /// The tag it answered with.
        tag: String,
        /// Where.
        url: String,
        /// Its status.
        status: u16,
    },
    /// The release is a draft.
    Draft {
        /// Where.
        url: String,
        /// Its status.
        status: u16,
    },
}

impl ReleaseError {
    /// The finding of `check` about the release of `tag`: `missing` is the outcome when the
    /// release is not there as published (`Fail` where that is the answer, `Incomplete` where
    /// the release was only a means to read something else); `prefix` starts the detail.
    pub fn finding(&self, check: &CheckId, tag: &str, missing: Outcome, prefix: &str) -> Finding {
        let subject = format!("github release {tag}");
        let (outcome, detail, evidence) = match self {
            ReleaseError::NoProject => (Outcome::skipped(NO_PROJECT), NO_PROJECT.to_string(), None),
            ReleaseError::Fetch(e) => {
                let absent = "no published release for the tag (missing, or still a draft)";
                let absent = if missing == Outcome::Fail { Absent::Fail(absent) } else { Absent::Incomplete(absent) };
                (e.outcome(absent), e.detail(absent), Some(e.evidence()))
            }
            ReleaseError::WrongTag { tag, url, status } => {
                (missing, format!("the API answered with tag {tag}"), Some(url_evidence(url, Some(*status))))
            }
            ReleaseError::Draft { url, status } => {
                (missing, "the release is a draft".to_string(), Some(url_evidence(url, Some(*status))))
            }
        };
        let finding = Finding::new(check, subject, outcome, format!("{prefix}{detail}"));
        match evidence {
            Some(ev) => finding.with(ev),
            None => finding,
        }
    }
}

/// Fetches the published release of the target's tag, and the URL it came from.
pub fn release(probe: &Probe<'_>) -> Result<(Release, String), ReleaseError> {
    let tag = probe.target.tag();
    let gh = probe.github().ok_or(ReleaseError::NoProject)?;
    let r = gh.release_by_tag(&tag).map_err(ReleaseError::Fetch)?;
    if r.doc.tag_name != tag {
        return Err(ReleaseError::WrongTag { tag: r.doc.tag_name, url: r.url, status: r.status });
    }
    if r.doc.draft {
        return Err(ReleaseError::Draft { url: r.url, status: r.status });
    }
    Ok((r.doc, r.url))
}

/// Why the sums file of a release is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SumsError {
    /// The policy has no `[channel.github]` (which names the sums file).
    NoChannel,
    /// The release has no asset of that name.
    NoAsset,
    /// Downloading it failed (absent: not downloadable).
    Fetch(FetchError),
    /// The download is not a sums file at all.
    NotSums {
        /// Its size.
        bytes: usize,
        /// Where.
        url: String,
        /// Its status.
        status: u16,
    },
    /// The download is not as long as the API says the uploaded file is: a body cut short
    /// (or padded) on the way, which says nothing about the release.
    Partial {
        /// What came.
        bytes: usize,
        /// What the API announced.
        size: u64,
        /// Where.
        url: String,
        /// Its status.
        status: u16,
    },
    /// Some lines are malformed.
    Malformed {
        /// The malformed lines, said.
        bad: Vec<String>,
        /// Where.
        url: String,
        /// Its status.
        status: u16,
    },
}

impl SumsError {
    /// The finding of `check` about the sums file of `release`.
    pub fn finding(&self, check: &CheckId, policy: &Policy, release: &Release) -> Finding {
        let sums = policy.channels.github.as_ref().map_or("", |g| g.sums.as_str());
        let subject = format!("github release {} {sums}", release.tag_name);
        match self {
            SumsError::NoChannel => Finding::skipped(check, "sums", "no [channel.github] in the policy"),
            SumsError::NoAsset => Finding::fail(check, &subject, "the release has no sums asset"),
            SumsError::Fetch(e) => e.finding(check, &subject, Absent::Fail("the sums asset is not downloadable")),
            SumsError::NotSums { bytes, url, status } => {
                Finding::incomplete(check, &subject, format!("the download ({bytes} bytes) is not a sums file"))
                    .with(url_evidence(url, Some(*status)))
            }
            SumsError::Partial { bytes, size, url, status } => Finding::incomplete(
                check,
                &subject,
                format!("the download is {bytes} bytes, the API says the uploaded file is {size}: not read whole"),
            )
            .with(url_evidence(url, Some(*status))),
            SumsError::Malformed { bad, url, status } => {
                Finding::fail(check, &subject, format!("malformed sums file: {}", bad.join("; ")))
                    .with(url_evidence(url, Some(*status)))
            }
        }
    }
}

/// Downloads and parses the sums asset of a release, and says where it came from.
pub fn sums(probe: &Probe<'_>, release: &Release) -> Result<(Vec<SumLine>, String), SumsError> {
    let github = probe.policy.channels.github.as_ref().ok_or(SumsError::NoChannel)?;
    let asset = release.assets.iter().find(|a| a.name == github.sums).ok_or(SumsError::NoAsset)?;
    let r = github::download(probe.http, &asset.browser_download_url).map_err(SumsError::Fetch)?;
    let (url, status) = (r.url.clone(), r.status);
    // A body of another length than the uploaded file was not read whole: its lines (a last
    // one cut in half, a missing tail) must not be judged as what the release published.
    if asset.size != 0 && asset.size != r.body.len() as u64 {
        return Err(SumsError::Partial { bytes: r.body.len(), size: asset.size, url, status });
    }
    let readable =
        std::str::from_utf8(&r.body).ok().filter(|t| t.lines().any(|l| parse_sums(l).is_ok_and(|v| !v.is_empty())));
    let Some(text) = readable else {
        return Err(SumsError::NotSums { bytes: r.body.len(), url, status });
    };
    parse_sums(text).map(|lines| (lines, asset.browser_download_url.clone())).map_err(|bad| SumsError::Malformed {
        bad,
        url,
        status,
    })
}

/// Checks the GitHub release channel. The release and the tag are asked for at the same time;
/// once the release is known, its sums file and (`--deep`) every archive are downloaded at
/// the same time: the longest wait is release, then one download (and its redirect).
pub fn check(probe: &Probe<'_>) -> Vec<Finding> {
    let Some(channel) = &probe.policy.channels.github else {
        return vec![Finding::skipped(CHECK, "github", "no [channel.github] in the policy")];
    };
    // The tag's chain (ref, then annotated tag) runs beside the release's (release, then
    // downloads): its finding is placed second when both are done.
    std::thread::scope(|scope| {
        let tag = scope.spawn(|| tag_commit_finding(probe));
        match check_release(probe, channel) {
            (published, Some(assets)) => {
                let tag = tag.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                [vec![published], tag.into_iter().collect(), assets].concat()
            }
            // Without the release, its absence is the one finding, as it always was.
            (missing, None) => vec![missing],
        }
    })
}

/// The findings of [`check`] but the tag's: the release's, then its assets'; or the one
/// finding saying the release is not there, and no assets.
fn check_release(probe: &Probe<'_>, channel: &crate::policy::GithubChannel) -> (Finding, Option<Vec<Finding>>) {
    let tag = probe.target.tag();
    let (release, release_url) = match release(probe) {
        Ok(r) => r,
        Err(e) => return (e.finding(&PUBLISHED, &tag, Outcome::Fail, ""), None),
    };
    let subject = format!("github release {tag}");
    let ev = url_evidence(&release_url, Some(200));
    let published = if release.prerelease != probe.target.is_prerelease() {
        Finding::fail(
            PUBLISHED,
            &subject,
            format!(
                "release is marked prerelease={}, the target {tag} is{} a pre-release",
                release.prerelease,
                if probe.target.is_prerelease() { "" } else { " not" }
            ),
        )
        .with(ev.clone())
    } else {
        Finding::pass(PUBLISHED, &subject, format!("published with {} asset(s)", release.assets.len())).with(ev.clone())
    };
    let mut out = Vec::new();
    let Some(manifest) = probe.manifest else {
        out.push(Finding::skipped(CHECK, &subject, "no targets manifest: expected assets not known"));
        return (published, Some(out));
    };
    let version = probe.target.version();
    let expected: Vec<(String, Option<&Asset>)> = manifest
        .in_channel(crate::manifest::Channel::Github, Tier::Official)
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let name = asset_name(&channel.asset, &version, &t.sdk_platform);
            let asset = release.assets.iter().find(|a| a.name == name);
            (t.sdk_platform.clone(), asset)
        })
        .collect();
    // The archives `--deep` hashes: those on the release and uploaded (the others are
    // findings without a download).
    let uploaded = |a: &Asset| a.state.as_deref().is_none_or(|st| st == "uploaded");
    let to_hash: Vec<&Asset> = match probe.deep {
        true => expected.iter().filter_map(|(_, a)| *a).filter(|a| uploaded(a)).collect(),
        false => Vec::new(),
    };
    let (sums, downloads) = parallel::join(
        || sums(probe, &release),
        || parallel::map(&to_hash, |a| crate::fetch::download(probe.http, &a.browser_download_url, false)),
    );
    let mut downloads: Vec<(&str, Option<Result<Download, FetchError>>)> =
        to_hash.iter().map(|a| a.name.as_str()).zip(downloads.into_iter().map(Some)).collect();
    let sums = match sums {
        Ok((s, _)) => Some(s),
        Err(e) => {
            out.push(e.finding(&CHECK, probe.policy, &release));
            None
        }
    };
    for (sdk_platform, asset) in expected {
        let name = asset_name(&channel.asset, &version, &sdk_platform);
        let s = format!("github asset {name}");
        let Some(asset) = asset else {
            out.push(Finding::fail(CHECK, &s, format!("no asset for {sdk_platform} on the release")).with(ev.clone()));
            continue;
        };
        let aev = url_evidence(&asset.browser_download_url, None);
        if !uploaded(asset) {
            out.push(Finding::fail(CHECK, &s, format!("asset state is {:?}, not uploaded", asset.state)).with(aev));
            continue;
        }
        let Some(sums) = &sums else { continue };
        let Some(line) = sum_for(sums, &name) else {
            out.push(Finding::fail(CHECK, &s, format!("{} has no line for {name}", channel.sums)).with(aev));
            continue;
        };
        // The published file is what users run `shasum -c` on beside the downloaded archive: a
        // directory before the name (`release-inputs/dist/x.tar.gz`, as a workflow's internal
        // sums file has it) makes their check fail to find the file.
        if line.path != line.name {
            out.push(
                Finding::fail(
                    CHECK,
                    &s,
                    format!(
                        "{} line {} names {}: users' `shasum -c` beside the download finds no such file; write it from inside the folder (`cd dist && shasum -a 256 *.tar.gz`)",
                        channel.sums, line.line, line.path
                    ),
                )
                .with(aev),
            );
            continue;
        }
        match asset.sha256() {
            Some(d) if d == line.sha256 => out.push(
                Finding::pass(CHECK, &s, format!("sums line {} equals the asset digest {d}", line.line))
                    .with(aev.clone()),
            ),
            Some(d) => out.push(
                Finding::fail(
                    CHECK,
                    &s,
                    format!("{} line {} says {}, the asset digest is {d}", channel.sums, line.line, line.sha256),
                )
                .with(aev.clone()),
            ),
            None if probe.deep => {}
            None => out.push(
                Finding::incomplete(
                    CHECK,
                    &s,
                    "the asset has no sha256 digest; re-run with --deep to hash the download",
                )
                .with(aev.clone()),
            ),
        }
        let downloaded =
            downloads.iter_mut().find(|(n, d)| *n == asset.name && d.is_some()).and_then(|(_, d)| d.take());
        if let Some(downloaded) = downloaded {
            out.push(deep_asset(&s, asset, &line.sha256, downloaded));
        }
    }
    (published, Some(out))
}

/// The `--deep` finding of one archive, from its download (streamed through SHA-256).
fn deep_asset(subject: &str, asset: &Asset, expected: &str, downloaded: Result<Download, FetchError>) -> Finding {
    let r = match downloaded {
        Ok(r) => r,
        Err(e) => return e.finding(&CHECK, subject, Absent::Fail("the asset is not downloadable")),
    };
    let ev = url_evidence(&r.url, Some(r.status));
    // A body we could not read whole (empty, or another length than the API announced for
    // the upload) decides nothing about the asset: `Incomplete`. Only bytes of the uploaded
    // length that hash to something else say the asset is wrong.
    if r.len == 0 || (asset.size != 0 && asset.size != r.len) {
        return Finding::incomplete(
            CHECK,
            subject,
            format!(
                "the download is {} bytes, the API says the uploaded file is {}: not read whole; re-run",
                r.len, asset.size
            ),
        )
        .with(ev);
    }
    let got = &r.sha256;
    if got != expected {
        Finding::fail(CHECK, subject, format!("sha256 of the download is {got}, the sums file says {expected}"))
            .with(ev)
    } else {
        Finding::pass(CHECK, subject, format!("download sha256 {got} equals the sums file")).with(ev)
    }
}

/// The commit the tag points at on GitHub (annotated tags dereferenced) and the URL that said
/// so, or why it is not known.
fn tag_commit(probe: &Probe<'_>) -> Result<(String, String), TagCommit> {
    let tag = probe.target.tag();
    let gh = probe.github().ok_or(TagCommit::NoProject)?;
    gh.tag_commit(&tag).map(|f| (f.doc, f.url)).map_err(TagCommit::Unknown)
}

/// Why the tag's commit is not known here.
enum TagCommit {
    NoProject,
    Unknown(TagCommitError),
}

impl TagCommit {
    fn finding(&self, check: &CheckId, tag: &str) -> Finding {
        match self {
            TagCommit::NoProject => Finding::skipped(check, format!("github tag {tag}"), NO_PROJECT),
            TagCommit::Unknown(e) => e.finding(check, tag),
        }
    }
}

fn tag_commit_finding(probe: &Probe<'_>) -> Option<Finding> {
    let subject = format!("github tag {}", probe.target.tag());
    match tag_commit(probe) {
        Ok((sha, url)) => Some(match probe.local_tag_commit {
            Some(local) if local != sha => Finding::fail(
                CHECK,
                &subject,
                format!("points at commit {sha} on GitHub but at {local} in the local repository: the tag was moved"),
            )
            .with(url_evidence(&url, Some(200))),
            _ => Finding::pass(CHECK, &subject, format!("points at commit {sha}")).with(url_evidence(&url, Some(200))),
        }),
        Err(e) => Some(e.finding(&CHECK, &probe.target.tag())),
    }
}

/// The newest completed run (by `created_at`, then id) among runs of `sha` that are not
/// `pull_request` runs (those never run the full gate: bug 41).
pub fn newest_completed<'a>(runs: &'a [Run], sha: &str) -> Option<&'a Run> {
    runs.iter()
        .filter(|r| r.head_sha == sha && r.status == "completed" && r.event != "pull_request")
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)))
}

/// The rule for CI on a release commit (bug 41), shared by `verify` and the `ci-green` gate:
/// among runs on `sha` that are not `pull_request` runs, the newest completed one must have
/// succeeded. A newer failure revokes an older success; runs still going are incomplete.
pub fn ci_verdict(check: &CheckId, subject: &str, workflow: &str, sha: &str, runs: &[Run], listed: &str) -> Finding {
    let ev = url_evidence(listed, Some(200));
    let mine: Vec<&Run> = runs.iter().filter(|r| r.head_sha == sha).collect();
    let Some(run) = newest_completed(runs, sha) else {
        let pushes = mine.iter().filter(|r| r.event != "pull_request").count();
        return if mine.is_empty() {
            Finding::fail(check, subject, format!("no {workflow} run for commit {sha}: push it and let CI run"))
                .with(ev)
        } else if pushes == 0 {
            Finding::fail(
                check,
                subject,
                format!(
                    "only pull_request runs of {workflow} on {sha}; they do not run the full gate: push to the branch"
                ),
            )
            .with(ev)
        } else {
            Finding::incomplete(check, subject, format!("{pushes} run(s) of {workflow} on {sha}, none completed yet"))
                .with(ev)
        };
    };
    let run_ev = url_evidence(run.html_url.as_deref().unwrap_or(listed), None);
    match run.conclusion.as_deref() {
        Some("success") => {
            Finding::pass(check, subject, format!("newest completed {} run {} on {sha} succeeded", run.event, run.id))
                .with(run_ev)
        }
        other => Finding::fail(
            check,
            subject,
            format!(
                "newest completed run {} on {sha} concluded {} (an older success does not count)",
                run.id,
                other.unwrap_or("without a conclusion")
            ),
        )
        .with(run_ev),
    }
}

/// The CI workflow's runs on `sha`, judged by [`ci_verdict`]; `label` names the commit in the
/// subject (the tag, or a short sha). Skipped without `[ci]` or `[project] github`.
pub fn ci_on_commit(http: &Http, policy: &Policy, sha: &str, check: &CheckId, label: &str) -> Finding {
    let Some(ci) = &policy.ci else {
        return Finding::skipped(check, "ci", "no [ci] in the policy");
    };
    let subject = format!("ci {} on {label}", ci.workflow);
    let Some(repo) = policy.project.github.as_deref() else {
        return Finding::skipped(check, &subject, NO_PROJECT);
    };
    let gh = GitHub::new(http, http.github_api(), repo);
    let finding = match gh.workflow_runs(&ci.workflow, sha, false) {
        Ok(runs) => ci_verdict(check, &subject, &ci.workflow, sha, &runs.items, &runs.url),
        Err(e) => e.finding(check, &subject, Absent::Fail(&format!("workflow {} not found", ci.workflow))),
    };
    // Keyed on the workflow, not the commit in the subject: one blocker follows CI across fixes.
    finding.keyed(&format!("ci {}", ci.workflow))
}

/// Checks that the newest completed run of the CI workflow on the tag's commit succeeded
/// (bug 41: an older success does not outweigh a newer failure).
pub fn check_ci(probe: &Probe<'_>) -> Vec<Finding> {
    if probe.policy.ci.is_none() {
        return vec![Finding::skipped(CI, "ci", "no [ci] in the policy")];
    }
    match tag_commit(probe) {
        Ok((sha, _)) => vec![ci_on_commit(probe.http, probe.policy, &sha, &CI, &probe.target.tag())],
        Err(e) => vec![e.finding(&CI, &probe.target.tag())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: u64, at: &str, conclusion: &str) -> Run {
        Run {
            id,
            head_sha: "s".into(),
            status: "completed".into(),
            conclusion: Some(conclusion.into()),
            created_at: at.into(),
            event: "push".into(),
            ..Run::default()
        }
    }

    #[test]
    fn newest_completed_wins_over_older_success() {
        let runs = [run(1, "2026-07-28T09:00:00Z", "success"), run(2, "2026-07-28T10:00:00Z", "failure")];
        assert_eq!(newest_completed(&runs, "s").unwrap().id, 2);
        assert!(newest_completed(&runs, "other").is_none());
    }

    #[test]
    fn ci_rule_of_bug_41() {
        use crate::report::Outcome;
        let at = |id: u64, at: &str, status: &str, conclusion: Option<&str>, event: &str| Run {
            id,
            head_sha: "abc".into(),
            status: status.into(),
            conclusion: conclusion.map(Into::into),
            created_at: at.into(),
            event: event.into(),
            ..Run::default()
        };
        let verdict = |runs: &[Run]| {
            ci_verdict(&"ci".into(), "ci on abc", "ci.yml", "abc", runs, "http://127.0.0.1/runs").outcome
        };
        let older_ok = at(1, "2026-07-01T00:00:00Z", "completed", Some("success"), "push");
        let newer_fail = at(2, "2026-07-02T00:00:00Z", "completed", Some("failure"), "push");
        let running = at(3, "2026-07-03T00:00:00Z", "in_progress", None, "push");
        let pr_ok = at(4, "2026-07-04T00:00:00Z", "completed", Some("success"), "pull_request");
        assert_eq!(verdict(&[older_ok.clone(), newer_fail.clone()]), Outcome::Fail, "a newer failure revokes");
        assert_eq!(verdict(&[newer_fail.clone(), pr_ok.clone()]), Outcome::Fail, "a PR success does not count");
        assert_eq!(verdict(&[older_ok.clone(), running.clone()]), Outcome::Pass);
        assert_eq!(verdict(&[running]), Outcome::Incomplete);
        assert_eq!(verdict(&[pr_ok]), Outcome::Fail, "PR runs never ran the full gate");
        assert_eq!(verdict(&[]), Outcome::Fail);
        let mut elsewhere = older_ok.clone();
        elsewhere.head_sha = "def".into();
        assert_eq!(verdict(&[elsewhere]), Outcome::Fail, "runs on other commits do not count");
        assert_eq!(verdict(&[older_ok]), Outcome::Pass);
    }
}
