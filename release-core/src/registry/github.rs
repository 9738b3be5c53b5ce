//! GitHub: the release for the tag (published, `prerelease` matching the target), its assets
//! (one SDK archive per github_sdk-official target plus the sums file), the sums file against
//! the assets' `digest`s, the tag's commit, and the CI workflow's runs for that commit.

use serde::Deserialize;

use super::{Probe, SumLine, asset_name, get, parse_sums, sha256_hex, sum_for, url_evidence};
use crate::{report::Finding, targets::Tier};

const CHECK: &str = "verify.github";
/// Check id of the "release is published" finding.
pub const PUBLISHED: &str = "verify.github.published";
const CI: &str = "verify.ci";
const JSON: &str = "application/vnd.github+json";

/// A release, the fields verification reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    /// The tag.
    pub tag_name: String,
    /// Drafts are never "published".
    #[serde(default)]
    pub draft: bool,
    /// The author's pre-release flag.
    #[serde(default)]
    pub prerelease: bool,
    /// Web page.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Assets.
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// A release asset.
#[derive(Debug, Clone, Deserialize)]
pub struct Asset {
    /// File name.
    pub name: String,
    /// `uploaded` when complete.
    #[serde(default)]
    pub state: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Public download URL.
    pub browser_download_url: String,
    /// `sha256:<hex>`, computed by GitHub on upload; null for old assets.
    #[serde(default)]
    pub digest: Option<String>,
}

impl Run {
    /// Whether the run is of the workflow file `file` (`release.yml`): its `path` is
    /// `.github/workflows/<file>`, possibly with an `@ref` suffix. Compared by file, never by
    /// display name (bug 24: a renamed `name:` or a copied workflow must not pass).
    pub fn is_of_workflow(&self, file: &str) -> bool {
        let path = self.path.split_once('@').map_or(self.path.as_str(), |(p, _)| p);
        path == format!(".github/workflows/{file}")
    }
}

impl Asset {
    /// The digest's hex, when it is a well-formed `sha256:` digest.
    pub fn sha256(&self) -> Option<&str> {
        self.digest.as_deref().and_then(|d| d.strip_prefix("sha256:")).filter(|h| super::is_sha256_hex(h))
    }
}

/// `owner`/`repo` of the project, or a skip finding.
fn project<'a>(probe: &Probe<'a>, check: &str, subject: &str) -> Result<&'a str, Box<Finding>> {
    probe
        .policy
        .project
        .github
        .as_deref()
        .ok_or_else(|| Box::new(Finding::skipped(check, subject, "no project.github in the policy")))
}

/// Fetches the release of the target's tag. `Ok(Err(finding))` when it is not published.
pub fn release(probe: &Probe<'_>, check: &str) -> Result<(Release, String), Box<Finding>> {
    let tag = probe.target.tag();
    let subject = format!("github release {tag}");
    let repo = project(probe, check, &subject)?;
    let url = format!("{}/repos/{repo}/releases/tags/{tag}", probe.github_api());
    let r = get(probe.http, &url, JSON, check, &subject)?;
    let ev = url_evidence(&r.url, Some(r.status));
    if r.absent() {
        return Err(Box::new(
            Finding::fail(check, &subject, "no published release for the tag (missing, or still a draft)").with(ev),
        ));
    }
    let release: Release = r.json().map_err(|e| super::unreadable(check, &subject, &r, &e))?;
    if release.tag_name != tag {
        return Err(Box::new(
            Finding::fail(check, &subject, format!("the API answered with tag {}", release.tag_name)).with(ev),
        ));
    }
    if release.draft {
        return Err(Box::new(Finding::fail(check, &subject, "the release is a draft").with(ev)));
    }
    Ok((release, r.url))
}

/// Downloads and parses the sums asset of a release.
pub fn sums(probe: &Probe<'_>, release: &Release, check: &str) -> Result<(Vec<SumLine>, String), Box<Finding>> {
    let Some(github) = &probe.policy.channels.github else {
        return Err(Box::new(Finding::skipped(check, "sums", "no [channel.github] in the policy")));
    };
    let subject = format!("github release {} {}", release.tag_name, github.sums);
    let Some(asset) = release.assets.iter().find(|a| a.name == github.sums) else {
        return Err(Box::new(Finding::fail(check, &subject, "the release has no sums asset")));
    };
    let r = get(probe.http, &asset.browser_download_url, "application/octet-stream", check, &subject)?;
    let ev = url_evidence(&r.url, Some(r.status));
    if r.absent() {
        return Err(Box::new(Finding::fail(check, &subject, "the sums asset is not downloadable").with(ev)));
    }
    let readable =
        std::str::from_utf8(&r.body).ok().filter(|t| t.lines().any(|l| parse_sums(l).is_ok_and(|v| !v.is_empty())));
    let Some(text) = readable else {
        return Err(Box::new(
            Finding::incomplete(check, &subject, format!("the download ({} bytes) is not a sums file", r.body.len()))
                .with(ev),
        ));
    };
    parse_sums(text).map(|lines| (lines, asset.browser_download_url.clone())).map_err(|bad| {
        Box::new(Finding::fail(check, &subject, format!("malformed sums file: {}", bad.join("; "))).with(ev))
    })
}

/// Checks the GitHub release channel.
pub fn check(probe: &Probe<'_>) -> Vec<Finding> {
    let Some(channel) = &probe.policy.channels.github else {
        return vec![Finding::skipped(CHECK, "github", "no [channel.github] in the policy")];
    };
    let tag = probe.target.tag();
    let (release, release_url) = match release(probe, PUBLISHED) {
        Ok(r) => r,
        Err(f) => return vec![*f],
    };
    let subject = format!("github release {tag}");
    let ev = url_evidence(&release_url, Some(200));
    let mut out = Vec::new();
    if release.prerelease != probe.target.is_prerelease() {
        out.push(
            Finding::fail(
                PUBLISHED,
                &subject,
                format!(
                    "release is marked prerelease={}, the target {tag} is{} a pre-release",
                    release.prerelease,
                    if probe.target.is_prerelease() { "" } else { " not" }
                ),
            )
            .with(ev.clone()),
        );
    } else {
        out.push(
            Finding::pass(PUBLISHED, &subject, format!("published with {} asset(s)", release.assets.len()))
                .with(ev.clone()),
        );
    }
    out.extend(tag_commit_finding(probe));
    let Some(manifest) = probe.manifest else {
        out.push(Finding::skipped(CHECK, &subject, "no targets manifest: expected assets not known"));
        return out;
    };
    let sums = match sums(probe, &release, CHECK) {
        Ok((s, _)) => Some(s),
        Err(f) => {
            out.push(*f);
            None
        }
    };
    let version = probe.target.version();
    for t in manifest.in_channel("github_sdk", Tier::Official).unwrap_or_default() {
        let name = asset_name(&channel.asset, &version, &t.sdk_platform);
        let s = format!("github asset {name}");
        let Some(asset) = release.assets.iter().find(|a| a.name == name) else {
            out.push(
                Finding::fail(CHECK, &s, format!("no asset for {} on the release", t.sdk_platform)).with(ev.clone()),
            );
            continue;
        };
        let aev = url_evidence(&asset.browser_download_url, None);
        if asset.state.as_deref().is_some_and(|st| st != "uploaded") {
            out.push(Finding::fail(CHECK, &s, format!("asset state is {:?}, not uploaded", asset.state)).with(aev));
            continue;
        }
        let Some(sums) = &sums else { continue };
        let Some(line) = sum_for(sums, &name) else {
            out.push(Finding::fail(CHECK, &s, format!("{} has no line for {name}", channel.sums)).with(aev));
            continue;
        };
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
        if probe.deep {
            out.push(deep_asset(probe, &s, asset, &line.sha256));
        }
    }
    out
}

fn deep_asset(probe: &Probe<'_>, subject: &str, asset: &Asset, expected: &str) -> Finding {
    let r = match super::fetch_file(probe, &asset.browser_download_url, CHECK, subject) {
        Ok(r) => r,
        Err(f) => return *f,
    };
    let ev = url_evidence(&r.url, Some(r.status));
    if r.absent() {
        return Finding::fail(CHECK, subject, "the asset is not downloadable").with(ev);
    }
    let got = sha256_hex(&r.body);
    if got != expected {
        Finding::fail(CHECK, subject, format!("sha256 of the download is {got}, the sums file says {expected}"))
            .with(ev)
    } else if asset.size != 0 && asset.size != r.body.len() as u64 {
        Finding::fail(CHECK, subject, format!("downloaded {} bytes, the API says {}", r.body.len(), asset.size))
            .with(ev)
    } else {
        Finding::pass(CHECK, subject, format!("download sha256 {got} equals the sums file")).with(ev)
    }
}

#[derive(Debug, Deserialize)]
struct RefDoc {
    object: RefObject,
}

#[derive(Debug, Deserialize)]
struct RefObject {
    sha: String,
    #[serde(rename = "type")]
    kind: String,
}

/// The commit the tag points at on GitHub (annotated tags dereferenced).
pub fn tag_commit(probe: &Probe<'_>, check: &str) -> Result<(String, String), Box<Finding>> {
    let tag = probe.target.tag();
    let subject = format!("github tag {tag}");
    let repo = project(probe, check, &subject)?;
    let api = probe.github_api();
    let url = format!("{api}/repos/{repo}/git/ref/tags/{tag}");
    let r = get(probe.http, &url, JSON, check, &subject)?;
    let ev = url_evidence(&r.url, Some(r.status));
    if r.absent() {
        return Err(Box::new(Finding::fail(check, &subject, "the tag is not on GitHub").with(ev)));
    }
    let doc: RefDoc = r.json().map_err(|e| super::unreadable(check, &subject, &r, &e))?;
    match doc.object.kind.as_str() {
        "commit" => Ok((doc.object.sha, r.url)),
        "tag" => {
            let url = format!("{api}/repos/{repo}/git/tags/{}", doc.object.sha);
            let r = get(probe.http, &url, JSON, check, &subject)?;
            if !r.ok() {
                return Err(Box::new(
                    Finding::fail(check, &subject, "the annotated tag object is missing")
                        .with(url_evidence(&r.url, Some(r.status))),
                ));
            }
            let tag_doc: RefDoc = r.json().map_err(|e| super::unreadable(check, &subject, &r, &e))?;
            Ok((tag_doc.object.sha, r.url))
        }
        other => {
            Err(Box::new(Finding::fail(check, &subject, format!("the tag points at a {other}, not a commit")).with(ev)))
        }
    }
}

fn tag_commit_finding(probe: &Probe<'_>) -> Option<Finding> {
    let subject = format!("github tag {}", probe.target.tag());
    match tag_commit(probe, CHECK) {
        Ok((sha, url)) => Some(match probe.local_tag_commit {
            Some(local) if local != sha => Finding::fail(
                CHECK,
                &subject,
                format!("points at commit {sha} on GitHub but at {local} in the local repository: the tag was moved"),
            )
            .with(url_evidence(&url, Some(200))),
            _ => Finding::pass(CHECK, &subject, format!("points at commit {sha}")).with(url_evidence(&url, Some(200))),
        }),
        Err(f) => Some(*f),
    }
}

/// Most pages (of 100 items) read from one GitHub listing; more than that is `Incomplete`,
/// never a silently partial list.
pub const MAX_PAGES: usize = 10;

/// One page of a listing: its items and the next page's URL.
#[derive(Debug)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The `rel="next"` URL, if there is a next page.
    pub next: Option<String>,
}

/// Reads pages from `first` on, following `next`, at most `max_pages` of them. More pages, or
/// a `next` that was already read (a loop), is an `Incomplete` finding for `check`/`subject`:
/// a list cut short is never taken for the whole list.
pub fn paginate<T>(
    check: &str,
    subject: &str,
    first: &str,
    max_pages: usize,
    mut fetch_page: impl FnMut(&str) -> Result<Page<T>, Box<Finding>>,
) -> Result<Vec<T>, Box<Finding>> {
    let mut items = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        if seen.contains(&url) {
            return Err(Box::new(
                Finding::incomplete(
                    check,
                    subject,
                    format!("the listing's next page ({url}) was already read: a pagination loop"),
                )
                .with(url_evidence(first, None)),
            ));
        }
        if seen.len() == max_pages {
            return Err(Box::new(
                Finding::incomplete(
                    check,
                    subject,
                    format!("more than {max_pages} pages to read; stopped before {url} rather than decide on part of the list"),
                )
                .with(url_evidence(first, None)),
            ));
        }
        let page = fetch_page(&url)?;
        items.extend(page.items);
        seen.push(url);
        next = page.next;
    }
    Ok(items)
}

/// GETs one page of a GitHub listing and parses it with `items`. A 404/410 becomes the
/// finding `absent` makes (a missing workflow file is a `Fail`, an invisible repository
/// `Incomplete`); other non-2xx answers and unreadable bodies are `Incomplete`. A `next` link
/// outside the GitHub API is not followed.
pub(crate) fn get_page<D: serde::de::DeserializeOwned, T>(
    probe: &Probe<'_>,
    url: &str,
    check: &str,
    subject: &str,
    absent: &dyn Fn(&crate::http::Response) -> Finding,
    items: impl FnOnce(D) -> Vec<T>,
) -> Result<Page<T>, Box<Finding>> {
    let r = get(probe.http, url, JSON, check, subject)?;
    if r.absent() {
        return Err(Box::new(absent(&r)));
    }
    let doc: D = r.json().map_err(|e| super::unreadable(check, subject, &r, &e))?;
    let next = r.next_link();
    let api = probe.github_api();
    if let Some(n) = &next
        && !n.starts_with(&format!("{api}/"))
    {
        return Err(Box::new(
            Finding::incomplete(
                check,
                subject,
                format!("the next page ({n}) is not under the GitHub API ({api}); not followed"),
            )
            .with(url_evidence(&r.url, Some(r.status))),
        ));
    }
    Ok(Page { items: items(doc), next })
}

/// Every page of a GitHub listing from `first` ([`get_page`] each, [`paginate`] over them, at
/// most [`MAX_PAGES`]). A single document is a one-page listing.
pub(crate) fn list_all<D: serde::de::DeserializeOwned, T>(
    probe: &Probe<'_>,
    first: &str,
    check: &str,
    subject: &str,
    absent: impl Fn(&crate::http::Response) -> Finding,
    items: impl Fn(D) -> Vec<T>,
) -> Result<Vec<T>, Box<Finding>> {
    paginate(check, subject, first, MAX_PAGES, |url| get_page(probe, url, check, subject, &absent, &items))
}

/// A page of workflow runs.
#[derive(Debug, Deserialize)]
pub(crate) struct Runs {
    #[serde(default)]
    pub(crate) workflow_runs: Vec<Run>,
}

/// A workflow run.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Run {
    /// Run id.
    pub id: u64,
    /// Display name of the workflow (`name:` in its file; anyone can rename it).
    #[serde(default)]
    pub name: String,
    /// The workflow file, `.github/workflows/release.yml` (an `@ref` suffix for some runs).
    #[serde(default)]
    pub path: String,
    /// The branch or tag the run was triggered on.
    #[serde(default)]
    pub head_branch: Option<String>,
    /// The commit.
    pub head_sha: String,
    /// `queued`, `in_progress`, `completed`...
    pub status: String,
    /// `success`, `failure`... or null until completed.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// Web page.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Creation time (ISO 8601 UTC).
    #[serde(default)]
    pub created_at: String,
    /// What triggered it: `push`, `pull_request`, `workflow_dispatch`...
    #[serde(default)]
    pub event: String,
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
pub fn ci_verdict(check: &str, subject: &str, workflow: &str, sha: &str, runs: &[Run], listed: &str) -> Finding {
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
/// subject (the tag, or a short sha). Skipped without `[ci]`.
pub fn ci_on_commit(probe: &Probe<'_>, sha: &str, check: &str, label: &str) -> Finding {
    let Some(ci) = &probe.policy.ci else {
        return Finding::skipped(check, "ci", "no [ci] in the policy");
    };
    let subject = format!("ci {} on {label}", ci.workflow);
    let repo = match project(probe, check, &subject) {
        Ok(r) => r,
        Err(f) => return *f,
    };
    let url = format!(
        "{}/repos/{repo}/actions/workflows/{}/runs?head_sha={sha}&per_page=100",
        probe.github_api(),
        ci.workflow
    );
    let absent = |r: &crate::http::Response| {
        Finding::fail(check, &subject, format!("workflow {} not found", ci.workflow))
            .with(url_evidence(&r.url, Some(r.status)))
    };
    match list_all(probe, &url, check, &subject, absent, |d: Runs| d.workflow_runs) {
        Ok(runs) => ci_verdict(check, &subject, &ci.workflow, sha, &runs, &url),
        Err(f) => *f,
    }
}

/// Checks that the newest completed run of the CI workflow on the tag's commit succeeded
/// (bug 41: an older success does not outweigh a newer failure).
pub fn check_ci(probe: &Probe<'_>) -> Vec<Finding> {
    if probe.policy.ci.is_none() {
        return vec![Finding::skipped(CI, "ci", "no [ci] in the policy")];
    }
    match tag_commit(probe, CI) {
        Ok((sha, _)) => vec![ci_on_commit(probe, &sha, CI, &probe.target.tag())],
        Err(f) => vec![*f],
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
        let verdict =
            |runs: &[Run]| ci_verdict("ci", "ci on abc", "ci.yml", "abc", runs, "http://127.0.0.1/runs").outcome;
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

    #[test]
    fn pagination_follows_next_and_stops_at_the_cap() {
        let pages = |n: usize| {
            move |url: &str| -> Result<Page<usize>, Box<Finding>> {
                let i: usize = url.trim_start_matches("p").parse().unwrap();
                Ok(Page { items: vec![i], next: (i + 1 < n).then(|| format!("p{}", i + 1)) })
            }
        };
        assert_eq!(paginate("c", "s", "p0", 10, pages(3)).unwrap(), [0, 1, 2]);
        assert_eq!(paginate("c", "s", "p0", 3, pages(3)).unwrap(), [0, 1, 2], "exactly the cap is fine");
        let cut = paginate("c", "s", "p0", 3, pages(4)).unwrap_err();
        assert_eq!(cut.outcome, crate::report::Outcome::Incomplete);
        assert!(cut.detail.contains("more than 3 pages") && cut.detail.contains("p3"), "{}", cut.detail);
        let looped =
            paginate("c", "s", "p0", 10, |_| Ok(Page { items: vec![1], next: Some("p0".to_string()) })).unwrap_err();
        assert!(looped.detail.contains("loop"), "{}", looped.detail);
        let failed: Result<Vec<u8>, _> =
            paginate("c", "s", "p0", 10, |_| Err(Box::new(Finding::incomplete("c", "s", "down"))));
        assert_eq!(failed.unwrap_err().detail, "down");
    }
}
