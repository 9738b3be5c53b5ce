//! The fake's routes: each service's paths and JSON, from a [`PublishedRelease`].

use serde_json::{Value, json};

use super::release::{
    Dispatch, Issue, NpmVersion, PublishedRelease, PypiFile, PypiMode, RunArtifact, WorkflowRun, zip_bytes,
};

pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Reply {
    pub(super) fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }
    pub(super) fn bytes(body: Vec<u8>, content_type: &str) -> Reply {
        Reply { status: 200, headers: vec![("Content-Type".into(), content_type.into())], body }
    }
    pub(super) fn not_found() -> Reply {
        Reply::json(
            404,
            &json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
        )
    }
    pub(super) fn redirect(to: &str) -> Reply {
        Reply { status: 302, headers: vec![("Location".into(), to.into())], body: Vec::new() }
    }
    pub(super) fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

pub(super) fn asset_host(release: &PublishedRelease, path: &str) -> Reply {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["artifact", id] => release
            .runs
            .iter()
            .flat_map(|run| &run.artifacts)
            .find(|a| a.id.to_string() == *id && !a.expired)
            .map_or_else(Reply::not_found, |a| Reply::bytes(a.zip.clone(), "application/zip")),
        ["joblog", id] => match find_job(release, id) {
            Some((_, job)) => Reply::bytes(job.log.clone().into_bytes(), "text/plain; charset=utf-8"),
            None => Reply::not_found(),
        },
        ["asset", tag, name] if *tag == release.target.tag() && release.release_exists => {
            match release.assets.iter().find(|a| a.name == *name) {
                Some(a) => Reply::bytes(a.bytes.clone(), "application/octet-stream"),
                None => Reply::not_found(),
            }
        }
        _ => Reply::not_found(),
    }
}

/// Where the fake listens, and what the request carried besides its path.
pub(super) struct Ctx<'a> {
    pub(super) base: &'a str,
    pub(super) asset_base: &'a str,
    pub(super) web: &'a str,
    pub(super) query: &'a str,
    /// An `Authorization` header came.
    pub(super) authorized: bool,
    /// The `Accept` header (empty when none came).
    pub(super) accept: &'a str,
}

impl Ctx<'_> {
    pub(super) fn param(&self, key: &str) -> Option<&str> {
        self.query.split('&').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    }
}

/// What a GET changes in the world before it is answered: a poll of a run by id moves it
/// along its schedule (see [`WorkflowRun::schedule`]).
pub(super) fn observe(r: &mut PublishedRelease, path: &str) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["gh-api", "repos", _, _, "actions", "runs", id] = parts.as_slice()
        && let Some(run) = r.runs.iter_mut().find(|run| run.id.to_string() == *id)
    {
        run.polls += 1;
    }
}

pub(super) fn route(r: &PublishedRelease, path: &str, cx: &Ctx<'_>) -> Reply {
    let (base, asset_base, web) = (cx.base, cx.asset_base, cx.web);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let name = r.package.as_str();
    let (owner, repo) = r.repo.split_once('/').unwrap_or(("", ""));
    let (tap_owner, tap_repo) = r.tap.0.split_once('/').unwrap_or(("", ""));
    let tag = r.target.tag();
    if let ["pypi", "simple", n, ""] = parts.as_slice() {
        // PEP 503: the one API here whose canonical URLs end with `/`.
        return if *n == name { simple_index(r, base) } else { Reply::not_found() };
    }
    if path.ends_with('/') {
        return Reply::not_found();
    }
    match parts.as_slice() {
        // What cargo reads first from a sparse registry: where `.crate` files are downloaded.
        ["index", "config.json"] => Reply::json(200, &json!({"dl": r.crates_dl.replace("{base}", base), "api": null})),
        ["index", rest @ ..] if rest.join("/") == crate::registry::crates::sparse_path(name) => {
            let lines: String = r
                .crates
                .iter()
                .map(|c| {
                    json!({"name": name, "vers": c.vers, "deps": [], "cksum": c.cksum, "features": {}, "yanked": c.yanked})
                        .to_string()
                        + "\n"
                })
                .collect();
            Reply::bytes(lines.into_bytes(), "text/plain").header("ETag", "\"index-1\"")
        }
        // Only where the index's `dl` says, expanded as cargo expands it.
        ["dl", ..] => {
            let dl = r.crates_dl.replace("{base}", base);
            let asked = format!("{base}{path}");
            r.crates
                .iter()
                .find(|c| crate::registry::crates::download_url(&dl, name, &c.vers, &c.cksum) == asked)
                .map_or_else(Reply::not_found, |c| Reply::bytes(c.bytes.clone(), "application/gzip"))
        }
        // npm answers 404 for a package without versions (never published, or all unpublished).
        ["npm", n] if *n == name && !r.npm.is_empty() => npm_packument(r, cx),
        ["npm", n, "-", file] if *n == name => r
            .npm
            .iter()
            .find(|(v, _)| *file == format!("{name}-{v}.tgz"))
            .map_or_else(Reply::not_found, |(_, d)| Reply::bytes(d.tarball.clone(), "application/octet-stream")),
        ["npm", n, v] if *n == name => {
            // A version, or a dist-tag resolved to one.
            let version = if r.npm.contains_key(*v) { Some(v.to_string()) } else { r.npm_tags.get(*v).cloned() };
            match version.and_then(|version| r.npm.get(&version).map(|doc| (version, doc))) {
                Some((version, doc)) => Reply::json(200, &npm_doc(name, &version, doc, base)),
                None => Reply::json(404, &json!(format!("version not found: {v}"))),
            }
        }
        ["npm", ..] => Reply::json(404, &json!({"error": "Not found"})),
        ["pypi", "pypi", n, "json"] if *n == name => {
            let (files, yanked) = r.pypi.get(&r.pypi_current).map(|(f, y)| (f.as_slice(), *y)).unwrap_or_default();
            // A mirror rewrites file URLs relative to the document (`/pypi/pypi/<n>/json`).
            let files_base = match r.pypi_mode {
                PypiMode::Pypi => format!("{base}/pypi/files/"),
                PypiMode::Mirror | PypiMode::MirrorWithoutDigests => "../../files/".to_string(),
            };
            let file = |f: &PypiFile, y: bool| {
                let mut doc = pypi_file(f, y, &files_base);
                if r.pypi_mode == PypiMode::MirrorWithoutDigests {
                    doc["digests"] = json!({});
                }
                doc
            };
            // Keys in string order, as PyPI serves them (`0.10.0` before `0.9.0`).
            let releases: serde_json::Map<String, Value> = r
                .pypi
                .iter()
                .map(|(v, (f, y))| (v.clone(), Value::Array(f.iter().map(|f| file(f, *y)).collect())))
                .collect();
            Reply::json(
                200,
                &json!({"info": {"name": name, "version": r.pypi_current, "requires_python": ">=3.10",
                                 "summary": "Persistent JSON message queues", "yanked": yanked, "yanked_reason": null,
                                 "release_url": format!("{base}/project/{name}/{}/", r.pypi_current)},
                        "last_serial": 42242261,
                        "releases": releases,
                        "urls": files.iter().map(|f| file(f, yanked)).collect::<Vec<_>>(),
                        "vulnerabilities": []}),
            )
        }
        ["pypi", "pypi", n, _, "json"] if *n == name && r.pypi_mode != PypiMode::Pypi => {
            Reply::json(404, &json!({"message": "Not Found"}))
        }
        ["pypi", "pypi", n, v, "json"] if *n == name => match r.pypi.get(*v) {
            // Relative file URLs, as a cache in between may serve them.
            Some((files, yanked)) => Reply::json(
                200,
                &json!({"info": {"name": name, "version": v, "yanked": yanked},
                        "urls": files.iter().map(|f| pypi_file(f, *yanked, "../../../files/")).collect::<Vec<_>>()}),
            ),
            None => Reply::json(404, &json!({"message": "Not Found"})),
        },
        ["pypi", "files", file] => r
            .pypi
            .values()
            .flat_map(|(f, _)| f)
            .find(|f| f.filename == *file)
            .map_or_else(Reply::not_found, |f| Reply::bytes(f.bytes.clone(), "application/octet-stream")),
        ["gh-api", "repos", o, p, "releases", "tags", t] if (*o, *p) == (owner, repo) => {
            if *t != tag || !r.release_exists || r.draft {
                return Reply::not_found();
            }
            let assets: Vec<Value> = r
                .assets
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    json!({"id": 7000 + i, "name": a.name, "label": null, "state": "uploaded", "size": a.bytes.len(),
                           "content_type": "application/octet-stream",
                           "url": format!("{base}/gh-api/repos/{owner}/{repo}/releases/assets/{}", 7000 + i),
                           "browser_download_url": format!("{web}/{owner}/{repo}/releases/download/{tag}/{}", a.name),
                           "digest": a.digest})
                })
                .collect();
            Reply::json(
                200,
                &json!({"id": 1, "tag_name": tag, "name": tag, "draft": r.draft, "prerelease": r.prerelease,
                        "immutable": false, "target_commitish": r.tag_commit,
                        "html_url": format!("{web}/{owner}/{repo}/releases/tag/{tag}"), "assets": assets}),
            )
            .header("Cache-Control", "private, max-age=60, s-maxage=60")
        }
        ["gh-api", "repos", o, p, "git", "ref", "tags", t] if (*o, *p) == (owner, repo) => match &r.tag_commit {
            Some(sha) if *t == tag => {
                let object = crate::registry::sha256_hex(sha.as_bytes())[..40].to_string();
                Reply::json(
                    200,
                    &json!({"ref": format!("refs/tags/{tag}"), "object": {"sha": object, "type": "tag",
                            "url": format!("{base}/gh-api/repos/{owner}/{repo}/git/tags/{object}")}}),
                )
            }
            _ => Reply::not_found(),
        },
        ["gh-api", "repos", o, p, "git", "tags", object] if (*o, *p) == (owner, repo) => match &r.tag_commit {
            Some(sha) if *object == &crate::registry::sha256_hex(sha.as_bytes())[..40] => {
                Reply::json(200, &json!({"tag": tag, "sha": object, "object": {"sha": sha, "type": "commit"}}))
            }
            _ => Reply::not_found(),
        },
        ["gh-api", "repos", o, p] if (*o, *p) == (owner, repo) => {
            let push = r.grant.role_push;
            Reply::json(
                200,
                &json!({"id": 81598961, "name": repo, "full_name": r.repo, "private": false,
                        "default_branch": "main", "html_url": format!("{web}/{owner}/{repo}"),
                        "permissions": {"admin": false, "maintain": false, "push": push, "triage": push, "pull": true}}),
            )
        }
        ["gh-api", "repos", o, p, "actions", "secrets"] if (*o, *p) == (owner, repo) => {
            if !cx.authorized {
                return Reply::json(401, &json!({"message": "Requires authentication", "status": "401"}));
            }
            if let Some(refused) = refuse(r, cx, "secrets", "read", "actions/secrets#list-repository-secrets") {
                return refused;
            }
            let secrets: Vec<Value> = r
                .secrets
                .iter()
                .map(|n| json!({"name": n, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}))
                .collect();
            Reply::json(200, &json!({"total_count": secrets.len(), "secrets": secrets}))
        }
        ["gh-api", "repos", o, p, "actions", "jobs", id, "logs"] if (*o, *p) == (owner, repo) => {
            if let Some(refused) =
                refuse(r, cx, "actions", "read", "actions/workflow-jobs#download-job-logs-for-a-workflow-run")
            {
                return refused;
            }
            match find_job(r, id) {
                // A short-lived URL on another host, as GitHub's log storage is.
                Some(_) => Reply::redirect(&format!("{asset_base}/joblog/{id}")),
                None => Reply::not_found(),
            }
        }
        ["gh-api", "repos", o, p, "actions", "workflows", wf, "runs"] if (*o, *p) == (owner, repo) => {
            if let Some(refused) =
                refuse(r, cx, "actions", "read", "actions/workflow-runs#list-workflow-runs-for-a-workflow")
            {
                return refused;
            }
            if !r.workflows.iter().any(|w| w == wf) {
                return Reply::not_found();
            }
            let mut runs: Vec<&WorkflowRun> = r
                .runs
                .iter()
                .filter(|run| run.workflow == *wf)
                .filter(|run| cx.param("head_sha").is_none_or(|s| s == run.head_sha))
                .filter(|run| {
                    let (status, conclusion) = run.shown();
                    cx.param("status").is_none_or(|s| s == status || Some(s) == conclusion)
                })
                .filter(|run| cx.param("event").is_none_or(|e| e == run.event))
                .collect();
            runs.sort_by(|a, b| b.created_at.cmp(&a.created_at));
            let total = runs.len();
            let (page, next) =
                paged(cx, &runs, &format!("{base}/gh-api/repos/{owner}/{repo}/actions/workflows/{wf}/runs"));
            let runs: Vec<Value> = page.iter().map(|run| run_json(run, owner, repo, base, web)).collect();
            let reply = Reply::json(200, &json!({"total_count": total, "workflow_runs": runs}));
            match next {
                Some(link) => reply.header("Link", &link),
                None => reply,
            }
        }
        ["gh-api", "repos", o, p, "actions", "runs"] if (*o, *p) == (owner, repo) => {
            if let Some(refused) =
                refuse(r, cx, "actions", "read", "actions/workflow-runs#list-workflow-runs-for-a-repository")
            {
                return refused;
            }
            let mut runs: Vec<&WorkflowRun> = r.runs.iter().collect();
            runs.sort_by(|a, b| b.created_at.cmp(&a.created_at));
            let (page, next) = paged(cx, &runs, &format!("{base}/gh-api/repos/{owner}/{repo}/actions/runs"));
            let items: Vec<Value> = page.iter().map(|run| run_json(run, owner, repo, base, web)).collect();
            let reply = Reply::json(200, &json!({"total_count": runs.len(), "workflow_runs": items}));
            match next {
                Some(link) => reply.header("Link", &link),
                None => reply,
            }
        }
        ["gh-api", "repos", o, p, "actions", "runs", id, rest @ ..] if (*o, *p) == (owner, repo) => {
            if let Some(refused) = refuse(r, cx, "actions", "read", "actions/workflow-runs#get-a-workflow-run") {
                return refused;
            }
            let Some(run) = r.runs.iter().find(|run| run.id.to_string() == *id) else {
                return Reply::not_found();
            };
            let (shown_status, _) = run.shown();
            match rest {
                [] => Reply::json(200, &run_json(run, owner, repo, base, web)),
                ["jobs"] => {
                    let jobs: Vec<Value> = run
                        .jobs
                        .iter()
                        .enumerate()
                        .map(|(i, job)| {
                            let job_id = run.id * 100 + i as u64;
                            // Jobs settle with their run: queued with it, running while it runs.
                            let (status, conclusion) = match shown_status {
                                "queued" => ("queued", None),
                                "in_progress" => ("in_progress", None),
                                _ if job.conclusion.is_some() => ("completed", job.conclusion.as_deref()),
                                _ => ("in_progress", None),
                            };
                            json!({"id": job_id, "run_id": run.id, "run_attempt": 1, "head_sha": run.head_sha,
                                   "name": job.name, "workflow_name": run.name, "head_branch": run.head_branch,
                                   "status": status,
                                   "conclusion": conclusion,
                                   "html_url": format!("{web}/{owner}/{repo}/actions/runs/{}/job/{job_id}", run.id),
                                   "steps": []})
                        })
                        .collect();
                    Reply::json(200, &json!({"total_count": jobs.len(), "jobs": jobs}))
                }
                ["artifacts"] => {
                    let artifacts: Vec<Value> = run
                        .artifacts
                        .iter()
                        .filter(|a| cx.param("name").is_none_or(|n| n == a.name))
                        .map(|a| {
                            let api = format!("{base}/gh-api/repos/{owner}/{repo}/actions/artifacts/{}", a.id);
                            json!({"id": a.id, "name": a.name, "size_in_bytes": a.zip.len(), "url": api,
                                   "archive_download_url": format!("{api}/zip"), "expired": a.expired,
                                   "digest": a.digest.clone().unwrap_or_else(|| format!("sha256:{}", crate::registry::sha256_hex(&a.zip))),
                                   "created_at": run.created_at, "expires_at": "2026-10-26T10:00:00Z",
                                   "workflow_run": {"id": run.id, "head_branch": run.head_branch,
                                                    "head_sha": run.head_sha}})
                        })
                        .collect();
                    Reply::json(200, &json!({"total_count": artifacts.len(), "artifacts": artifacts}))
                }
                _ => Reply::not_found(),
            }
        }
        ["gh-api", "repos", o, p, "actions", "artifacts", id, "zip"] if (*o, *p) == (owner, repo) => {
            let Some(artifact) = r.runs.iter().flat_map(|run| &run.artifacts).find(|a| a.id.to_string() == *id) else {
                return Reply::not_found();
            };
            if !cx.authorized {
                Reply::json(
                    401,
                    &json!({"message": "You must have the actions scope to download artifacts.",
                                         "documentation_url": "https://docs.github.com/rest", "status": "401"}),
                )
            } else if artifact.expired {
                Reply::json(410, &json!({"message": "Artifact has expired", "status": "410"}))
            } else {
                // A short-lived URL on another host, as GitHub's blob storage is.
                Reply::redirect(&format!("{asset_base}/artifact/{id}"))
            }
        }
        ["gh-api", "repos", o, p, "issues"] if (*o, *p) == (owner, repo) => {
            let state = cx.param("state").unwrap_or("open");
            let labels: Vec<&str> = cx.param("labels").map(|l| l.split(',').collect()).unwrap_or_default();
            let matching: Vec<&Issue> = r
                .issues
                .iter()
                .filter(|i| state == "all" || i.state == state)
                .filter(|i| labels.iter().all(|l| i.labels.iter().any(|have| have == l)))
                .collect();
            let (page, next) = paged(cx, &matching, &format!("{base}/gh-api/repos/{owner}/{repo}/issues"));
            let items: Vec<Value> = page.iter().map(|i| issue_json(i, owner, repo, base, web)).collect();
            let reply = Reply::json(200, &Value::Array(items));
            match next {
                Some(link) => reply.header("Link", &link),
                None => reply,
            }
        }
        ["gh-api", "repos", o, p, "contents", rest @ ..]
            if (*o, *p) == (tap_owner, tap_repo) && rest.join("/") == r.tap.1 =>
        {
            match &r.formula {
                Some(text) => {
                    Reply::bytes(text.replace("{github_web}", web).into_bytes(), "application/vnd.github.raw+json")
                        .header("ETag", "\"formula-1\"")
                }
                None => Reply::not_found(),
            }
        }
        ["gh-web", o, p, "releases", "download", t, file] if (*o, *p) == (owner, repo) => {
            Reply::redirect(&format!("{asset_base}/asset/{t}/{file}"))
        }
        _ => Reply::not_found(),
    }
}

/// The page of `items` that `per_page` (default 30, at most 100) and `page` (from 1) ask for,
/// and the `Link` header naming the next page when there is one, as GitHub paginates.
fn paged<'a, T>(cx: &Ctx<'_>, items: &'a [T], path: &str) -> (&'a [T], Option<String>) {
    let per_page = cx.param("per_page").and_then(|n| n.parse::<usize>().ok()).unwrap_or(30).clamp(1, 100);
    let page = cx.param("page").and_then(|n| n.parse::<usize>().ok()).unwrap_or(1).max(1);
    let start = ((page - 1) * per_page).min(items.len());
    let end = (start + per_page).min(items.len());
    let next = (items.len() > page * per_page).then(|| {
        let others: Vec<&str> = cx.query.split('&').filter(|kv| !kv.starts_with("page=") && !kv.is_empty()).collect();
        format!("<{path}?{}&page={}>; rel=\"next\"", others.join("&"), page + 1)
    });
    (&items[start..end], next)
}

/// `POST /repos/{o}/{r}/issues`: files an issue into the world (401 without a token, 410 when
/// issues are disabled, 422 without a title). `POST .../actions/workflows/{file}/dispatches`:
/// see [`dispatch`].
pub(super) fn post(r: &mut PublishedRelease, path: &str, body: &[u8], cx: &Ctx<'_>) -> Reply {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (owner, repo) = r.repo.split_once('/').map(|(o, p)| (o.to_string(), p.to_string())).unwrap_or_default();
    if let ["gh-api", "repos", o, p, "actions", "workflows", wf, "dispatches"] = parts.as_slice()
        && (*o, *p) == (owner.as_str(), repo.as_str())
    {
        return dispatch(r, wf, body, cx);
    }
    let ["gh-api", "repos", o, p, "issues"] = parts.as_slice() else {
        return Reply::not_found();
    };
    if (*o, *p) != (owner.as_str(), repo.as_str()) {
        return Reply::not_found();
    }
    if !cx.authorized {
        return Reply::json(401, &json!({"message": "Requires authentication", "status": "401"}));
    }
    if let Some(refused) = refuse(r, cx, "issues", "write", "issues/issues#create-an-issue") {
        return refused;
    }
    if !r.issues_enabled {
        return Reply::json(410, &json!({"message": "Issues are disabled for this repo", "status": "410"}));
    }
    let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(title) = doc["title"].as_str().filter(|t| !t.is_empty()) else {
        return Reply::json(
            422,
            &json!({"message": "Validation Failed", "status": "422",
                                        "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}]}),
        );
    };
    let issue = Issue {
        number: r.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1,
        title: title.to_string(),
        body: doc["body"].as_str().unwrap_or_default().to_string(),
        labels: doc["labels"].as_array().into_iter().flatten().filter_map(|l| l.as_str().map(String::from)).collect(),
        state: "open".into(),
        pull_request: false,
    };
    let json = issue_json(&issue, &owner, &repo, cx.base, cx.web);
    let location = format!("{}/gh-api/repos/{owner}/{repo}/issues/{}", cx.base, issue.number);
    r.issues.push(issue);
    Reply::json(201, &json).header("Location", &location)
}

/// `POST .../actions/workflows/{file}/dispatches` with `{"ref", "inputs"}`: 401 without a
/// token, 403 without `actions: write`, 404 for an unknown workflow, 422 without a ref or for
/// a ref that is not the release tag; else 204, the dispatch recorded and a run created from
/// the next planned one (or one that succeeds at once).
fn dispatch(r: &mut PublishedRelease, wf: &str, body: &[u8], cx: &Ctx<'_>) -> Reply {
    if !cx.authorized {
        return Reply::json(401, &json!({"message": "Requires authentication", "status": "401"}));
    }
    if let Some(refused) = refuse(r, cx, "actions", "write", "actions/workflows#create-a-workflow-dispatch-event") {
        return refused;
    }
    if !r.workflows.iter().any(|w| w == wf) {
        return Reply::not_found();
    }
    let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(git_ref) = doc["ref"].as_str() else {
        return Reply::json(422, &json!({"message": "Invalid request.\n\n\"ref\" wasn't supplied.", "status": "422"}));
    };
    let tag = r.target.tag();
    let name = git_ref.strip_prefix("refs/tags/").unwrap_or(git_ref);
    let (true, Some(sha)) = (name == tag, r.tag_commit.clone()) else {
        return Reply::json(422, &json!({"message": format!("No ref found for: {git_ref}"), "status": "422"}));
    };
    let inputs: std::collections::BTreeMap<String, String> = doc["inputs"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect();
    let id = r.runs.iter().map(|run| run.id).max().unwrap_or(0).max(3000) + 1;
    let planned = r.planned.get_mut(wf).and_then(|q| q.pop_front());
    let mut run = planned.unwrap_or_default();
    run.id = id;
    run.workflow = wf.to_string();
    if run.name == WorkflowRun::default().name {
        run.name = wf.trim_end_matches(".yml").to_string();
    }
    run.head_sha = sha.clone();
    run.head_branch = name.to_string();
    run.event = "workflow_dispatch".into();
    run.created_at = format!("2026-07-29T{:02}:00:00Z", (r.dispatches.len() % 24));
    run.polls = 0;
    if run.writes_metadata {
        let metadata = super::release::build_metadata(name, &sha, id).to_string();
        if let Ok(zip) = zip_bytes(&[("metadata.json", metadata.as_bytes())]) {
            run.artifacts.push(RunArtifact {
                id: id * 10,
                name: "release-metadata".into(),
                zip,
                expired: false,
                digest: None,
            });
        }
        if let Ok(uploads) = super::release::run_artifacts(id, &r.build_uploads) {
            run.artifacts.extend(uploads);
        }
    }
    r.dispatches.push(Dispatch { workflow: wf.to_string(), git_ref: git_ref.to_string(), inputs, run_id: id });
    r.runs.push(run);
    Reply { status: 204, headers: Vec::new(), body: Vec::new() }
}

/// GitHub's answer to a token without `permission` at `level`: 403 with the message a
/// fine-grained token gets and `X-Accepted-GitHub-Permissions` naming what was needed. `None`
/// when the token may (or no token came: public reads are the route's business).
fn refuse(r: &PublishedRelease, cx: &Ctx<'_>, permission: &str, level: &str, doc: &str) -> Option<Reply> {
    if !cx.authorized || r.grant.allows(permission, level) {
        return None;
    }
    Some(
        Reply::json(
            403,
            &json!({"message": "Resource not accessible by personal access token",
                    "documentation_url": format!("https://docs.github.com/rest/{doc}"), "status": "403"}),
        )
        .header("X-Accepted-GitHub-Permissions", &format!("{permission}={level}")),
    )
}

/// The job with this id (`run id * 100 + index`), and its run.
fn find_job<'a>(r: &'a PublishedRelease, id: &str) -> Option<(&'a WorkflowRun, &'a super::release::Job)> {
    r.runs.iter().find_map(|run| {
        run.jobs.iter().enumerate().find(|(i, _)| (run.id * 100 + *i as u64).to_string() == id).map(|(_, j)| (run, j))
    })
}

/// The PEP 503 project page: one link per file of every release, with its sha256 fragment.
fn simple_index(r: &PublishedRelease, base: &str) -> Reply {
    let links: String = r
        .pypi
        .values()
        .flat_map(|(files, _)| files)
        .map(|f| format!("<a href=\"{base}/pypi/files/{0}#sha256={1}\">{0}</a><br/>\n", f.filename, f.sha256))
        .collect();
    let html = format!("<!DOCTYPE html>\n<html><body><h1>Links for {}</h1>\n{links}</body></html>\n", r.package);
    Reply::bytes(html.into_bytes(), "text/html")
}

fn run_json(run: &WorkflowRun, owner: &str, repo: &str, base: &str, web: &str) -> Value {
    let api = format!("{base}/gh-api/repos/{owner}/{repo}/actions/runs/{}", run.id);
    let (status, conclusion) = run.shown();
    json!({"id": run.id, "name": run.name, "display_title": run.name, "head_branch": run.head_branch,
           "head_sha": run.head_sha, "path": format!(".github/workflows/{}", run.workflow),
           "run_number": run.id % 1000, "run_attempt": 1, "event": run.event, "status": status,
           "conclusion": conclusion, "workflow_id": 39065091, "url": api,
           "html_url": format!("{web}/{owner}/{repo}/actions/runs/{}", run.id),
           "jobs_url": format!("{api}/jobs"), "artifacts_url": format!("{api}/artifacts"),
           "created_at": run.created_at, "updated_at": run.created_at, "run_started_at": run.created_at,
           "head_commit": {"id": run.head_sha}})
}

fn issue_json(issue: &Issue, owner: &str, repo: &str, base: &str, web: &str) -> Value {
    let labels: Vec<Value> = issue.labels.iter().map(|l| json!({"name": l, "color": "d73a4a"})).collect();
    let kind = if issue.pull_request { "pull" } else { "issues" };
    let mut doc = json!({"id": 5_000_000 + issue.number, "number": issue.number, "title": issue.title,
                         "body": issue.body, "state": issue.state, "labels": labels,
                         "url": format!("{base}/gh-api/repos/{owner}/{repo}/issues/{}", issue.number),
                         "html_url": format!("{web}/{owner}/{repo}/{kind}/{}", issue.number),
                         "user": {"login": "release-bot"}, "created_at": "2026-07-28T11:00:00Z"});
    if issue.pull_request {
        doc["pull_request"] = json!({"url": format!("{base}/gh-api/repos/{owner}/{repo}/pulls/{}", issue.number)});
    }
    doc
}

/// The package document: abbreviated when the `Accept` asks for it, as registry.npmjs.org
/// answers `npm install`, else the full one (READMEs, publish times, every version's manifest).
fn npm_packument(r: &PublishedRelease, cx: &Ctx<'_>) -> Reply {
    let name = r.package.as_str();
    let versions: serde_json::Map<String, Value> = r
        .npm
        .iter()
        .filter(|(v, _)| !r.npm_document_omits.contains(v))
        .map(|(v, doc)| (v.clone(), npm_doc(name, v, doc, cx.base)))
        .collect();
    let modified = "2026-10-14T19:55:02.118Z";
    if cx.accept.contains("application/vnd.npm.install-v1+json") {
        return Reply::bytes(
            json!({"name": name, "modified": modified, "dist-tags": r.npm_tags, "versions": versions})
                .to_string()
                .into_bytes(),
            "application/vnd.npm.install-v1+json",
        );
    }
    let mut full = versions;
    for doc in full.values_mut() {
        doc["description"] = json!("Persistent JSON message queues");
        doc["_npmUser"] = json!({"name": "sandover"});
    }
    let mut time: serde_json::Map<String, Value> = r
        .npm
        .keys()
        .filter(|v| !r.npm_document_omits.contains(v))
        .map(|v| (v.clone(), json!("2026-10-14T19:54:59.000Z")))
        .collect();
    time.insert("created".into(), json!("2026-02-07T22:42:30.000Z"));
    time.insert("modified".into(), json!(modified));
    Reply::json(
        200,
        &json!({"_id": name, "_rev": "23-5f1c", "name": name, "dist-tags": r.npm_tags, "versions": full,
                "time": time, "maintainers": [{"name": "sandover"}], "readme": format!("# {name}\n"),
                "readmeFilename": "README.md"}),
    )
}

fn npm_doc(name: &str, version: &str, doc: &NpmVersion, base: &str) -> Value {
    let mut manifest = json!({"name": name, "version": version, "_id": format!("{name}@{version}"),
                              "dist": {"tarball": format!("{base}/npm/{name}/-/{name}-{version}.tgz"),
                                       "integrity": doc.integrity}});
    if !doc.bin.is_empty() {
        manifest["bin"] = json!(doc.bin);
    }
    manifest
}

fn pypi_file(f: &PypiFile, release_yanked: bool, url_base: &str) -> Value {
    json!({"filename": f.filename, "packagetype": f.packagetype,
           "python_version": if f.packagetype == "sdist" { "source" } else { "cp311" },
           "size": f.bytes.len(), "digests": {"sha256": f.sha256},
           "url": format!("{url_base}{}", f.filename), "yanked": f.yanked || release_yanked, "yanked_reason": null})
}
