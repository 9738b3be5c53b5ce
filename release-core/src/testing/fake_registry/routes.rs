//! The fake's routes: each service's paths and JSON, from a [`PublishedRelease`].

use serde_json::{Value, json};

use super::release::{CiRun, NpmVersion, PublishedRelease, PypiFile};

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
        ["asset", tag, name] if *tag == release.target.tag() && release.release_exists => {
            match release.assets.iter().find(|a| a.name == *name) {
                Some(a) => Reply::bytes(a.bytes.clone(), "application/octet-stream"),
                None => Reply::not_found(),
            }
        }
        _ => Reply::not_found(),
    }
}

pub(super) fn route(r: &PublishedRelease, path: &str, query: &str, base: &str, asset_base: &str, web: &str) -> Reply {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let name = r.package.as_str();
    let (owner, repo) = r.repo.split_once('/').unwrap_or(("", ""));
    let (tap_owner, tap_repo) = r.tap.0.split_once('/').unwrap_or(("", ""));
    let tag = r.target.tag();
    if path.ends_with('/') {
        return Reply::not_found();
    }
    match parts.as_slice() {
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
        ["dl", n, file] if *n == name => r
            .crates
            .iter()
            .find(|c| *file == format!("{name}-{}.crate", c.vers))
            .map_or_else(Reply::not_found, |c| Reply::bytes(c.bytes.clone(), "application/gzip")),
        ["npm", n] if *n == name => {
            let versions: serde_json::Map<String, Value> =
                r.npm.iter().map(|(v, doc)| (v.clone(), npm_doc(name, v, doc, base))).collect();
            Reply::json(200, &json!({"_id": name, "name": name, "dist-tags": r.npm_tags, "versions": versions}))
        }
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
        ["pypi", "pypi", n, "json"] if *n == name => {
            let files = r.pypi.get(&r.pypi_current).map(|(f, _)| f.as_slice()).unwrap_or_default();
            let releases: serde_json::Map<String, Value> = r
                .pypi
                .iter()
                .map(|(v, (f, y))| {
                    (
                        v.clone(),
                        Value::Array(f.iter().map(|f| pypi_file(f, *y, &format!("{base}/pypi/files/"))).collect()),
                    )
                })
                .collect();
            Reply::json(
                200,
                &json!({"info": {"name": name, "version": r.pypi_current, "yanked": false},
                        "releases": releases,
                        "urls": files.iter().map(|f| pypi_file(f, false, &format!("{base}/pypi/files/"))).collect::<Vec<_>>()}),
            )
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
        ["gh-api", "repos", o, p, "actions", "workflows", wf, "runs"] if (*o, *p) == (owner, repo) => {
            if *wf != r.workflow {
                return Reply::not_found();
            }
            let param = |k: &str| query.split('&').find_map(|kv| kv.strip_prefix(&format!("{k}=")[..]));
            let mut runs: Vec<&CiRun> = r
                .runs
                .iter()
                .filter(|run| param("head_sha").is_none_or(|s| s == run.head_sha))
                .filter(|run| param("status").is_none_or(|s| s == run.status || Some(s) == run.conclusion.as_deref()))
                .collect();
            runs.sort_by(|a, b| b.created_at.cmp(&a.created_at));
            let runs: Vec<Value> = runs
                .iter()
                .map(|run| {
                    json!({"id": run.id, "name": "ci", "head_sha": run.head_sha, "status": run.status,
                           "conclusion": run.conclusion, "event": "push", "run_attempt": 1,
                           "path": format!(".github/workflows/{}", r.workflow), "created_at": run.created_at,
                           "html_url": format!("{web}/{owner}/{repo}/actions/runs/{}", run.id)})
                })
                .collect();
            Reply::json(200, &json!({"total_count": runs.len(), "workflow_runs": runs}))
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

fn npm_doc(name: &str, version: &str, doc: &NpmVersion, base: &str) -> Value {
    json!({"name": name, "version": version, "_id": format!("{name}@{version}"),
           "dist": {"tarball": format!("{base}/npm/{name}/-/{name}-{version}.tgz"),
                    "shasum": "", "integrity": doc.integrity}})
}

fn pypi_file(f: &PypiFile, release_yanked: bool, url_base: &str) -> Value {
    json!({"filename": f.filename, "packagetype": f.packagetype,
           "python_version": if f.packagetype == "sdist" { "source" } else { "cp311" },
           "size": f.bytes.len(), "digests": {"sha256": f.sha256},
           "url": format!("{url_base}{}", f.filename), "yanked": f.yanked || release_yanked, "yanked_reason": null})
}
