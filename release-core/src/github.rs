//! The one GitHub REST client: every path the release reads or writes (releases and their
//! assets, git refs and annotated tags, repository contents, workflow runs, jobs, artifacts,
//! issues), the paginator, and the public default base URLs.
//!
//! Every method returns the typed [`FetchError`] (or [`TagCommitError`]) on failure; the
//! check that asked turns it into a finding once, with [`FetchError::finding`]. The client
//! needs only the shared [`Http`] client, the API base and the repository (`owner/repo`).

use serde::Deserialize;

pub use crate::fetch::{Absent, FetchError, Fetched};
use crate::{
    fetch::{self, url_evidence},
    http::{Http, Response},
    report::CheckId,
    report::Finding,
};

/// Public default of the GitHub REST API base.
pub const API: &str = "https://api.github.com";
/// Public default of the GitHub web base (release download URLs).
pub const WEB: &str = "https://github.com";
/// The media type of the REST API.
const JSON: &str = "application/vnd.github+json";

/// Most pages (of 100 items) read from one GitHub listing; more than that is `Incomplete`,
/// never a silently partial list.
pub const MAX_PAGES: usize = 10;

/// The web base: `configured` (the policy's `[endpoints] github_web`), else [`WEB`], without a
/// trailing `/`.
pub fn web_base(configured: Option<&str>) -> String {
    configured.unwrap_or(WEB).trim_end_matches('/').to_string()
}

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

impl Asset {
    /// The digest's hex, when it is a well-formed `sha256:` digest.
    pub fn sha256(&self) -> Option<&str> {
        // Exactly 64 lowercase hex digits (spelled out here: `registry` imports this module).
        let is_hex = |h: &&str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        self.digest.as_deref().and_then(|d| d.strip_prefix("sha256:")).filter(is_hex)
    }
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

impl Run {
    /// Whether the run is of the workflow file `file` (`release.yml`): its `path` is
    /// `.github/workflows/<file>`, possibly with an `@ref` suffix. Compared by file, never by
    /// display name (bug 24: a renamed `name:` or a copied workflow must not pass).
    pub fn is_of_workflow(&self, file: &str) -> bool {
        let path = self.path.split_once('@').map_or(self.path.as_str(), |(p, _)| p);
        path == format!(".github/workflows/{file}")
    }
}

#[derive(Debug, Deserialize)]
struct Runs {
    #[serde(default)]
    workflow_runs: Vec<Run>,
}

/// A job of a workflow run (the fields used here).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Job {
    /// Job id (its log is at `actions/jobs/{id}/logs`).
    #[serde(default)]
    pub id: u64,
    /// Job name (`build (ubuntu-latest, x86_64)` for matrix legs).
    pub name: String,
    /// `queued`, `in_progress`, `completed`...
    #[serde(default)]
    pub status: String,
    /// `success`, `failure`, ... or null while running.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// Web page (its format has changed over time: treat it as opaque).
    #[serde(default)]
    pub html_url: Option<String>,
}

#[derive(Deserialize)]
struct Jobs {
    #[serde(default)]
    jobs: Vec<Job>,
}

/// An artifact of a run, as the API lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Artifact {
    /// Artifact id.
    pub id: u64,
    /// Its name (`release-metadata`).
    pub name: String,
    /// Size of the zip, as listed.
    #[serde(default)]
    pub size_in_bytes: u64,
    /// Where the zip is downloaded from (needs a token).
    pub archive_download_url: String,
    /// Past its retention.
    #[serde(default)]
    pub expired: bool,
    /// `sha256:<hex>` of the zip, when listed.
    #[serde(default)]
    pub digest: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Artifacts {
    #[serde(default)]
    artifacts: Vec<Artifact>,
}

/// An issue as listed (the fields used here).
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    /// Issue number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Web page.
    #[serde(default)]
    pub html_url: String,
    /// Present on pull requests, which GitHub lists among issues.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

/// A label of an issue.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    /// Label name.
    pub name: String,
}

/// A git object a ref or an annotated tag points at.
#[derive(Debug, Clone, Deserialize)]
pub struct GitObject {
    /// Its id.
    pub sha: String,
    /// `commit`, `tag`, `tree` or `blob`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
struct GitRef {
    object: GitObject,
}

/// Every item of a listing, and the URL of its first page (the evidence).
#[derive(Debug, Clone)]
pub struct Listed<T> {
    /// The items of every page.
    pub items: Vec<T>,
    /// The first page asked.
    pub url: String,
}

/// Why the commit of a tag is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagCommitError {
    /// Reading `git/ref/tags/<tag>` failed (absent: the tag is not on GitHub).
    Ref(FetchError),
    /// Reading the annotated tag object failed (absent: the object is missing).
    Object(FetchError),
    /// The tag points at something else than a commit or an annotated tag.
    NotACommit {
        /// What it points at.
        kind: String,
        /// The ref's URL.
        url: String,
        /// Its status.
        status: u16,
    },
}

impl TagCommitError {
    /// The finding of `check` about the tag: `Fail` when the tag or its object is not there or
    /// is not a commit, `Incomplete` when GitHub could not be read.
    pub fn finding(&self, check: &CheckId, tag: &str) -> Finding {
        let subject = format!("github tag {tag}");
        match self {
            TagCommitError::Ref(e) => e.finding(check, &subject, Absent::Fail("the tag is not on GitHub")),
            TagCommitError::Object(e) => {
                e.finding(check, &subject, Absent::Fail("the annotated tag object is missing"))
            }
            TagCommitError::NotACommit { kind, url, status } => {
                Finding::fail(check, &subject, format!("the tag points at a {kind}, not a commit"))
                    .with(url_evidence(url, Some(*status)))
            }
        }
    }
}

/// Downloads a release asset (its `browser_download_url`, on the web host: no repository
/// path) as it is, whatever its content type.
pub fn download(http: &Http, url: &str) -> Result<Response, FetchError> {
    fetch::get(http, url, "application/octet-stream")
}

/// One page of a listing: its items and the next page's URL.
#[derive(Debug)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The `rel="next"` URL, if there is a next page.
    pub next: Option<String>,
}

/// Reads pages from `first` on, following `next`, at most `max_pages` of them. More pages, or
/// a `next` that was already read (a loop), is an error: a list cut short is never taken for
/// the whole list.
pub fn paginate<T>(
    first: &str,
    max_pages: usize,
    mut fetch_page: impl FnMut(&str) -> Result<Page<T>, FetchError>,
) -> Result<Vec<T>, FetchError> {
    let mut items = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        if seen.contains(&url) {
            return Err(FetchError::PageLoop { first: first.to_string(), next: url });
        }
        if seen.len() == max_pages {
            return Err(FetchError::TooManyPages { first: first.to_string(), next: url, max: max_pages });
        }
        let page = fetch_page(&url)?;
        items.extend(page.items);
        seen.push(url);
        next = page.next;
    }
    Ok(items)
}

/// The client of one repository.
#[derive(Debug, Clone)]
pub struct GitHub<'a> {
    http: &'a Http,
    api: String,
    repo: String,
}

impl<'a> GitHub<'a> {
    /// A client of `repo` (`owner/repo`) under the API base `api` (`Http::github_api`).
    pub fn new(http: &'a Http, api: &str, repo: &str) -> GitHub<'a> {
        GitHub { http, api: api.trim_end_matches('/').to_string(), repo: repo.to_string() }
    }

    /// The shared HTTP client (whether it has a token, redaction).
    pub fn http(&self) -> &'a Http {
        self.http
    }

    /// `owner/repo`.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// `{api}/repos/{owner}/{repo}`: the base of every path of the repository.
    pub fn repo_url(&self) -> String {
        format!("{}/repos/{}", self.api, self.repo)
    }

    /// `GET /releases/tags/{tag}`: the published release of a tag (drafts are absent).
    pub fn release_by_tag(&self, tag: &str) -> Result<Fetched<Release>, FetchError> {
        fetch::get_json(self.http, &format!("{}/releases/tags/{tag}", self.repo_url()), JSON)
    }

    /// The commit a tag points at (annotated tags dereferenced), and the URL that said so.
    pub fn tag_commit(&self, tag: &str) -> Result<Fetched<String>, TagCommitError> {
        let url = format!("{}/git/ref/tags/{tag}", self.repo_url());
        let r = fetch::get_json::<GitRef>(self.http, &url, JSON).map_err(TagCommitError::Ref)?;
        match r.doc.object.kind.as_str() {
            "commit" => Ok(Fetched { doc: r.doc.object.sha, url: r.url, status: r.status }),
            "tag" => {
                let url = format!("{}/git/tags/{}", self.repo_url(), r.doc.object.sha);
                let t = fetch::get_json::<GitRef>(self.http, &url, JSON).map_err(TagCommitError::Object)?;
                Ok(Fetched { doc: t.doc.object.sha, url: t.url, status: t.status })
            }
            other => Err(TagCommitError::NotACommit { kind: other.to_string(), url: r.url, status: r.status }),
        }
    }

    /// `GET /contents/{path}` raw: a file of the repository's default branch.
    pub fn contents_raw(&self, path: &str) -> Result<Response, FetchError> {
        fetch::get(self.http, &format!("{}/contents/{path}", self.repo_url()), "application/vnd.github.raw+json")
    }

    /// Every run of the workflow file `workflow` on commit `sha` (only successful ones with
    /// `only_success`), every page.
    pub fn workflow_runs(&self, workflow: &str, sha: &str, only_success: bool) -> Result<Listed<Run>, FetchError> {
        let status = if only_success { "&status=success" } else { "" };
        let url = format!("{}/actions/workflows/{workflow}/runs?head_sha={sha}{status}&per_page=100", self.repo_url());
        let items = self.list_all(&url, |d: Runs| d.workflow_runs)?;
        Ok(Listed { items, url })
    }

    /// `GET /actions/runs/{id}`.
    pub fn run(&self, id: &str) -> Result<Fetched<Run>, FetchError> {
        fetch::get_json(self.http, &self.run_url(id), JSON)
    }

    /// The jobs of the latest attempt of run `id`, every page.
    pub fn jobs(&self, id: &str) -> Result<Vec<Job>, FetchError> {
        self.list_all(&format!("{}/jobs?filter=latest&per_page=100", self.run_url(id)), |d: Jobs| d.jobs)
    }

    /// Every run of the workflow file `workflow` triggered on `branch` (a tag's runs have the
    /// tag as their branch), newest first, every page.
    pub fn runs_on(&self, workflow: &str, branch: &str) -> Result<Listed<Run>, FetchError> {
        let url = format!("{}/actions/workflows/{workflow}/runs?branch={branch}&per_page=100", self.repo_url());
        let items = self.list_all(&url, |d: Runs| d.workflow_runs)?;
        Ok(Listed { items, url })
    }

    /// `POST /actions/workflows/{workflow}/dispatches` with `ref` and `inputs`: GitHub answers
    /// 204 and says nothing of the run it starts. Never retried (see [`Http::post_json`]).
    pub fn dispatch(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<Response> {
        let url = format!("{}/actions/workflows/{workflow}/dispatches", self.repo_url());
        self.http.post_json(&url, &serde_json::json!({"ref": git_ref, "inputs": inputs}))
    }

    /// The log of job `id`, as text: GitHub redirects to short-lived storage, which gets no
    /// token.
    pub fn job_log(&self, id: u64) -> Result<Response, FetchError> {
        fetch::get(self.http, &format!("{}/actions/jobs/{id}/logs", self.repo_url()), JSON)
    }

    /// `GET /actions/secrets`, every page: the names of the repository's Actions secrets
    /// (never their values; the API has none to give).
    pub fn secret_names(&self) -> Result<Listed<String>, FetchError> {
        #[derive(Deserialize)]
        struct Secret {
            name: String,
        }
        #[derive(Deserialize)]
        struct Secrets {
            #[serde(default)]
            secrets: Vec<Secret>,
        }
        let url = format!("{}/actions/secrets?per_page=100", self.repo_url());
        let items = self.list_all(&url, |d: Secrets| d.secrets.into_iter().map(|s| s.name).collect())?;
        Ok(Listed { items, url })
    }

    fn run_url(&self, id: &str) -> String {
        format!("{}/actions/runs/{id}", self.repo_url())
    }

    /// Every artifact of run `id`, every page: read once, then looked up by name, so a check
    /// of many artifacts costs one listing, not one request per name.
    pub fn run_artifacts(&self, id: u64) -> Result<Listed<Artifact>, FetchError> {
        let url = format!("{}/artifacts?per_page=100", self.run_url(&id.to_string()));
        let items = self.list_all(&url, |d: Artifacts| d.artifacts)?;
        Ok(Listed { items, url })
    }

    /// Downloads an artifact's zip (GitHub redirects to storage; the token goes to the API only).
    pub fn artifact_zip(&self, artifact: &Artifact) -> Result<Response, FetchError> {
        fetch::get(self.http, &artifact.archive_download_url, JSON)
    }

    /// `{api}/repos/{owner}/{repo}/issues`: where issues are listed and created.
    pub fn issues_url(&self) -> String {
        format!("{}/issues", self.repo_url())
    }

    /// The open issues labelled `label`, every page (pull requests included: GitHub lists them
    /// among issues).
    pub fn open_issues(&self, label: &str) -> Result<Listed<Issue>, FetchError> {
        let url = format!("{}?state=open&labels={label}&per_page=100", self.issues_url());
        let items = self.list_all(&url, |d: Vec<Issue>| d)?;
        Ok(Listed { items, url })
    }

    /// `POST /issues` with `body`. Never retried (see [`Http::post_json`]); `Ok` for any status,
    /// which the caller reads.
    pub fn create_issue(&self, body: &serde_json::Value) -> anyhow::Result<Response> {
        self.http.post_json(&self.issues_url(), body)
    }

    /// Every page of a listing from `first` (at most [`MAX_PAGES`]), each parsed with `items`.
    /// A `next` link outside the API is not followed.
    pub fn list_all<D: serde::de::DeserializeOwned, T>(
        &self,
        first: &str,
        items: impl Fn(D) -> Vec<T>,
    ) -> Result<Vec<T>, FetchError> {
        paginate(first, MAX_PAGES, |url| {
            let r = fetch::get(self.http, url, JSON)?;
            let doc: D = fetch::parse_json(&r)?;
            let next = r.next_link();
            if let Some(n) = &next
                && !n.starts_with(&format!("{}/", self.api))
            {
                return Err(FetchError::ForeignPage {
                    url: r.url,
                    status: r.status,
                    next: n.clone(),
                    api: self.api.clone(),
                });
            }
            Ok(Page { items: items(doc), next })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_follows_next_and_stops_at_the_cap() {
        let pages = |n: usize| {
            move |url: &str| -> Result<Page<usize>, FetchError> {
                let i: usize = url.trim_start_matches("p").parse().unwrap();
                Ok(Page { items: vec![i], next: (i + 1 < n).then(|| format!("p{}", i + 1)) })
            }
        };
        let as_finding = |e: FetchError| e.finding(&"c".into(), "s", Absent::Fail("absent"));
        assert_eq!(paginate("p0", 10, pages(3)).unwrap(), [0, 1, 2]);
        assert_eq!(paginate("p0", 3, pages(3)).unwrap(), [0, 1, 2], "exactly the cap is fine");
        let cut = as_finding(paginate("p0", 3, pages(4)).unwrap_err());
        assert_eq!(cut.outcome, crate::report::Outcome::Incomplete);
        assert!(cut.detail.contains("more than 3 pages") && cut.detail.contains("p3"), "{}", cut.detail);
        let looped =
            as_finding(paginate("p0", 10, |_| Ok(Page { items: vec![1], next: Some("p0".to_string()) })).unwrap_err());
        assert!(looped.detail.contains("loop"), "{}", looped.detail);
        let down = FetchError::Transport { url: "p0".into(), why: "down".into() };
        let failed: Result<Vec<u8>, _> = paginate("p0", 10, |_| Err(down.clone()));
        assert_eq!(failed.unwrap_err(), down, "a page's error is the listing's");
    }
}
