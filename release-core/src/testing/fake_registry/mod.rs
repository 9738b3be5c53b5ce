//! [`FakeRegistry`]: one loopback HTTP server that speaks the JSON of the crates.io sparse
//! index (with a `config.json` whose `dl` decides where `.crate` files are served:
//! [`PublishedRelease::crates_dl`]), npm (the abbreviated package document when the `Accept`
//! asks for it, as registry.npmjs.org answers), the PyPI JSON API (as pypi.org or as a mirror:
//! [`PypiMode`]), GitHub REST (releases by tag, assets with 302 redirects to a
//! second listener that refuses `Authorization`, contents raw, git refs, workflow runs by
//! workflow file and by id, their jobs and artifacts (zip download: 401 without a token, 302 to
//! the second listener, 410 once expired), issues listed and filed with `POST`) and serves a
//! tap formula, from an in-memory [`PublishedRelease`]; with fault injection per
//! service ([`Fault`]).
//!
//! ```no_run
//! # use release_core::testing::{FakeRegistry, PublishedRelease, Service, Fault};
//! # fn demo(manifest: &release_core::Manifest) -> anyhow::Result<()> {
//! let fake = FakeRegistry::start(PublishedRelease::coherent(manifest, "0.8.0")?)?;
//! fake.fault(Service::Npm, Fault::Status(500));
//! let toml = fake.endpoints_toml(); // append to release/policy.toml
//! # Ok(()) }
//! ```

mod release;
mod routes;

pub use release::{
    Asset, CRATES_DL_MARKERS, CRATES_DL_PLAIN, CRATES_DL_PREFIXED, CrateVersion, Dispatch, Issue, Job, NpmVersion,
    PublishedRelease, PypiFile, PypiMode, RunArtifact, TokenGrant, WorkflowRun, build_metadata, build_uploads,
    crate_tarball, run_artifacts, sums_text, tgz, wheel_bytes, wheel_name, zip_bytes,
};
use std::{
    collections::BTreeMap,
    io::Write,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
    thread::JoinHandle,
    time::Duration,
};

use anyhow::Context as _;
use serde_json::json;
use tiny_http::{Header, Request, Response, Server};

use routes::{Ctx, Reply, asset_host, route};

/// A service of the fake, selected by path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// `/index/...`: the sparse index.
    CratesIndex,
    /// `/dl/...`: `.crate` downloads.
    CratesDownload,
    /// `/npm/...`.
    Npm,
    /// `/pypi/...`: JSON API and files.
    Pypi,
    /// `/gh-api/...`: GitHub REST.
    GithubApi,
    /// `/gh-web/...`: release download URLs (302 to the asset host).
    GithubWeb,
    /// The second listener serving asset bytes.
    AssetHost,
}

impl Service {
    /// Every service.
    pub const ALL: [Service; 7] = [
        Service::CratesIndex,
        Service::CratesDownload,
        Service::Npm,
        Service::Pypi,
        Service::GithubApi,
        Service::GithubWeb,
        Service::AssetHost,
    ];

    fn prefix(self) -> &'static str {
        match self {
            Service::CratesIndex => "/index",
            Service::CratesDownload => "/dl",
            Service::Npm => "/npm",
            Service::Pypi => "/pypi",
            Service::GithubApi => "/gh-api",
            Service::GithubWeb => "/gh-web",
            Service::AssetHost => "/asset",
        }
    }

    /// The policy `[endpoints]` key that points at this service, if any.
    pub fn endpoint_key(self) -> Option<&'static str> {
        match self {
            Service::CratesIndex => Some("crates_index"),
            Service::CratesDownload => Some("crates_download"),
            Service::Npm => Some("npm"),
            Service::Pypi => Some("pypi"),
            Service::GithubApi => Some("github_api"),
            Service::GithubWeb => Some("github_web"),
            Service::AssetHost => None,
        }
    }
}

/// A fault injected into every response of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (and a JSON error body).
    Status(u16),
    /// Wait this long before answering normally.
    Delay(Duration),
    /// Answer 200 announcing the normal body's length, send only its first half, and close
    /// the connection (a body cut off in transit).
    Truncated,
    /// Answer 200 announcing and sending only the first half of the normal body: a body cut
    /// short before it was served (a partial upload, a proxy's partial cache), which the
    /// transport cannot tell from a whole one.
    Cut,
    /// Answer 200 with an empty body.
    Empty,
    /// Answer 200 with bytes that are not what the client expects.
    Garbage,
    /// Answer 200 with this many bytes.
    Oversized(usize),
    /// Answer 302 to the same URL.
    RedirectLoop,
    /// Answer 429 with `Retry-After: <seconds>`.
    RetryAfter(u64),
    /// Answer 403 with `x-ratelimit-remaining: 0` and a reset in the future (GitHub's
    /// exhausted primary rate limit).
    RateLimited,
    /// Answer 200 with `Content-Encoding: gzip`: a small compressed body (about a thousandth)
    /// that decodes to this many zero bytes. A client that caps the bytes on the wire accepts
    /// it whole.
    GzipBomb(u64),
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Logged {
    /// `GET`, `POST`...
    pub method: String,
    /// Path with query.
    pub path: String,
    /// The request body (POSTs), as text.
    pub body: String,
    /// The `Authorization` header, when one was sent.
    pub authorization: Option<String>,
    /// The `Accept` header, when one was sent.
    pub accept: Option<String>,
}

struct State {
    /// Shared with requests in flight, copied only when changed while one is (a release with
    /// large assets is not cloned per request).
    release: Arc<PublishedRelease>,
    faults: BTreeMap<String, Fault>,
    /// (service prefix, path suffix, fault): faults on some files of a service only.
    path_faults: Vec<(String, String, Fault)>,
    log: Vec<Logged>,
    /// (path suffix, request number, change): changes to the release made just before the
    /// request of that number (1-based) among those whose path ends with the suffix.
    scheduled: Vec<(String, usize, Change)>,
}

/// A change to the published release, made while the fake runs.
type Change = Box<dyn FnOnce(&mut PublishedRelease) + Send>;

/// The running fake; stops when dropped.
pub struct FakeRegistry {
    base: String,
    asset_base: String,
    state: Arc<Mutex<State>>,
    servers: Vec<Arc<Server>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRegistry").field("base", &self.base).finish()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A handler thread that panicked leaves the data as it was; keep serving it.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeRegistry {
    /// Starts the main listener and the asset host on 127.0.0.1 (ephemeral ports).
    pub fn start(release: PublishedRelease) -> anyhow::Result<FakeRegistry> {
        let bind = || Server::http("127.0.0.1:0").map_err(|e| anyhow::anyhow!("cannot start the fake registry: {e}"));
        let main = Arc::new(bind()?);
        let assets = Arc::new(bind()?);
        let addr = |s: &Server| s.server_addr().to_ip().context("the fake listens on IP");
        let base = format!("http://{}", addr(&main)?);
        let asset_base = format!("http://{}", addr(&assets)?);
        let state = Arc::new(Mutex::new(State {
            release: Arc::new(release),
            faults: BTreeMap::new(),
            path_faults: Vec::new(),
            log: Vec::new(),
            scheduled: Vec::new(),
        }));
        let mut threads = Vec::new();
        for (server, is_asset_host) in [(main.clone(), false), (assets.clone(), true)] {
            let state = state.clone();
            let (base, asset_base) = (base.clone(), asset_base.clone());
            threads.push(std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let state = state.clone();
                    let (base, asset_base) = (base.clone(), asset_base.clone());
                    // One thread per request, so concurrent channels are not serialized.
                    std::thread::spawn(move || handle(request, &state, &base, &asset_base, is_asset_host));
                }
            }));
        }
        Ok(FakeRegistry { base, asset_base, state, servers: vec![main, assets], threads })
    }

    /// The base URL of a service.
    pub fn url(&self, service: Service) -> String {
        match service {
            Service::AssetHost => format!("{}{}", self.asset_base, service.prefix()),
            s => format!("{}{}", self.base, s.prefix()),
        }
    }

    /// An `[endpoints]` table pointing every service at this fake, to append to a policy.
    /// `crates_download` is left out: the index's `config.json` says where `.crate` files
    /// are, as a real index does.
    pub fn endpoints_toml(&self) -> String {
        self.endpoints_toml_with(&[])
    }

    /// As [`FakeRegistry::endpoints_toml`], with some services pointed elsewhere (e.g. a
    /// closed port) or left out (`None`). `crates_download` is written only when given here
    /// (it overrides `config.json`'s `dl`, and is read as one).
    pub fn endpoints_toml_with(&self, overrides: &[(Service, Option<&str>)]) -> String {
        let mut out = String::from("\n[endpoints]\n");
        for s in Service::ALL {
            let Some(key) = s.endpoint_key() else { continue };
            let url = match overrides.iter().find(|(o, _)| *o == s) {
                Some((_, Some(u))) => u.to_string(),
                Some((_, None)) => continue,
                None if s == Service::CratesDownload => continue,
                None => self.url(s),
            };
            out.push_str(&format!("{key} = \"{url}\"\n"));
        }
        out
    }

    /// Injects a fault into every later response of `service` (replacing any earlier one).
    pub fn fault(&self, service: Service, fault: Fault) {
        lock(&self.state).faults.insert(service.prefix().to_string(), fault);
    }

    /// Injects a fault into every later response of `service` whose path ends with `suffix`
    /// (e.g. the sums file, one archive, the formula), before any fault of the whole service.
    pub fn fault_path(&self, service: Service, suffix: &str, fault: Fault) {
        lock(&self.state).path_faults.push((service.prefix().to_string(), suffix.to_string(), fault));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        let mut state = lock(&self.state);
        state.faults.clear();
        state.path_faults.clear();
    }

    /// Changes the published release while the fake runs.
    pub fn update(&self, change: impl FnOnce(&mut PublishedRelease)) {
        change(Arc::make_mut(&mut lock(&self.state).release));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }

    /// How many requests were received, and how many of them were distinct (method and path
    /// with query): a client that never asks twice has both equal.
    pub fn request_counts(&self) -> (usize, usize) {
        let log = lock(&self.state).log.clone();
        let distinct: std::collections::BTreeSet<(&str, &str)> =
            log.iter().map(|l| (l.method.as_str(), l.path.as_str())).collect();
        (log.len(), distinct.len())
    }

    /// Makes `change` to the release just before answering the `nth` request (1-based) whose
    /// path ends with `suffix`, so that request and every later one see it: "the version
    /// appears on the third look" without racing a timer.
    pub fn change_at_request(
        &self,
        suffix: &str,
        nth: usize,
        change: impl FnOnce(&mut PublishedRelease) + Send + 'static,
    ) {
        lock(&self.state).scheduled.push((suffix.to_string(), nth, Box::new(change)));
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        for s in &self.servers {
            s.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Gzip of `decoded` zero bytes, compressed once per size (compressing a gigabyte takes seconds)
/// and kept for the process's life.
fn gzip_bomb(decoded: u64) -> Vec<u8> {
    static BOMBS: OnceLock<Mutex<BTreeMap<u64, Arc<Vec<u8>>>>> = OnceLock::new();
    let bombs = BOMBS.get_or_init(|| Mutex::new(BTreeMap::new()));
    let mut bombs = bombs.lock().unwrap_or_else(|p| p.into_inner());
    let bomb = bombs.entry(decoded).or_insert_with(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        let mut left = decoded;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            // Writing to a Vec cannot fail.
            let _ = encoder.write_all(&zeros[..n]);
            left -= n as u64;
        }
        Arc::new(encoder.finish().unwrap_or_default())
    });
    bomb.as_ref().clone()
}

/// A URL on 127.0.0.1 where nothing listens (connection refused).
pub fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a: SocketAddr| a.port())
        .unwrap_or(9);
    format!("http://127.0.0.1:{port}")
}

fn handle(mut request: Request, state: &Mutex<State>, base: &str, asset_base: &str, is_asset_host: bool) {
    let url = request.url().to_string();
    let method = request.method().as_str().to_string();
    let mut body = Vec::new();
    // Only writes carry a body. A GET is never read: curl (cargo) asks to upgrade to h2c, and
    // tiny_http then hands the raw socket over as the body, which would block until it closes.
    // A body that cannot be read is an empty one; the route answers 422 for a POST without one.
    if method == "POST" {
        let _ = std::io::Read::read_to_end(request.as_reader(), &mut body);
    }
    let header = |name: &'static str| {
        request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_string())
    };
    let authorization = header("Authorization");
    let accept = header("Accept");
    let if_none_match = header("If-None-Match");
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let (path, query) = (path.to_string(), query.to_string());
    let (fault, release) = {
        let mut s = lock(state);
        if method == "GET" && !is_asset_host && path.contains("/actions/runs/") {
            routes::observe(Arc::make_mut(&mut s.release), &path);
        }
        s.log.push(Logged {
            method: method.clone(),
            path: url.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            authorization: authorization.clone(),
            accept: accept.clone(),
        });
        let due: Vec<usize> = (0..s.scheduled.len())
            .filter(|&i| {
                let (suffix, nth, _) = &s.scheduled[i];
                path.ends_with(suffix.as_str())
                    && s.log
                        .iter()
                        .filter(|l| l.path.split('?').next().is_some_and(|p| p.ends_with(suffix.as_str())))
                        .count()
                        == *nth
            })
            .collect();
        for i in due.into_iter().rev() {
            let (_, _, change) = s.scheduled.remove(i);
            change(Arc::make_mut(&mut s.release));
        }
        let prefix = if is_asset_host { "/asset" } else { path.split('/').nth(1).map_or("", |p| &url[..p.len() + 1]) };
        let on_path = s.path_faults.iter().find(|(p, suffix, _)| p == prefix && path.ends_with(suffix.as_str()));
        (on_path.map(|(_, _, f)| f.clone()).or_else(|| s.faults.get(prefix).cloned()), s.release.clone())
    };
    let web = format!("{base}/gh-web");
    let normal = || {
        if is_asset_host {
            if authorization.is_some() {
                return Reply::json(400, &json!({"message": "Authorization is not accepted by the asset host"}));
            }
            return asset_host(&release, &path);
        }
        let cx = Ctx {
            base,
            asset_base,
            web: &web,
            query: &query,
            authorized: authorization.is_some(),
            accept: accept.as_deref().unwrap_or_default(),
        };
        if method == "POST" {
            // Writes change the world every later request sees.
            return routes::post(Arc::make_mut(&mut lock(state).release), &path, &body, &cx);
        }
        route(&release, &path, &cx)
    };
    let reply = match fault {
        None => normal(),
        Some(Fault::Delay(d)) => {
            std::thread::sleep(d);
            normal()
        }
        Some(Fault::Status(code)) => Reply::json(code, &json!({"message": format!("injected {code}")})),
        Some(Fault::Truncated) => {
            let r = normal();
            let full = r.body.len().max(2);
            let half = r.body[..r.body.len() / 2].to_vec();
            let headers =
                vec![Header::from_bytes(&b"Connection"[..], &b"close"[..]).ok()].into_iter().flatten().collect();
            let response =
                Response::new(tiny_http::StatusCode(200), headers, std::io::Cursor::new(half), Some(full), None);
            let _ = request.respond(response);
            return;
        }
        Some(Fault::Cut) => {
            let mut r = normal();
            r.body.truncate(r.body.len() / 2);
            r
        }
        Some(Fault::Empty) => {
            let mut r = normal();
            r.body.clear();
            r
        }
        Some(Fault::GzipBomb(decoded)) => {
            Reply::bytes(gzip_bomb(decoded), "application/json").header("Content-Encoding", "gzip")
        }
        Some(Fault::Garbage) => Reply::bytes(b"<html>\x00\xff garbage {{{ not json".to_vec(), "text/html"),
        Some(Fault::Oversized(n)) => Reply::bytes(vec![b'x'; n], "application/json"),
        Some(Fault::RedirectLoop) => {
            Reply::redirect(&format!("{}{url}", if is_asset_host { asset_base } else { base }))
        }
        Some(Fault::RateLimited) => Reply::json(403, &json!({"message": "API rate limit exceeded for 127.0.0.1."}))
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", "4102444800"),
        Some(Fault::RetryAfter(secs)) => {
            Reply::json(429, &json!({"message": "You have exceeded a secondary rate limit."}))
                .header("Retry-After", &secs.to_string())
        }
    };
    let etag = reply.headers.iter().find(|(k, _)| k == "ETag").map(|(_, v)| v.clone());
    let reply = match (etag, if_none_match) {
        (Some(etag), Some(asked)) if etag == asked && reply.status == 200 => {
            Reply { status: 304, headers: vec![("ETag".into(), etag)], body: Vec::new() }
        }
        _ => reply,
    };
    let mut response = Response::from_data(reply.body).with_status_code(reply.status);
    let mut headers = reply.headers;
    if path.starts_with("/gh-api") {
        // A classic token's scopes come with every answer to it, as GitHub sends them.
        if let (Some(_), Some(scopes)) = (&authorization, &release.grant.scopes) {
            headers.push(("X-OAuth-Scopes".into(), scopes.join(", ")));
        }
        headers.extend([
            ("x-ratelimit-limit".into(), "5000".into()),
            ("x-ratelimit-remaining".into(), "4999".into()),
            ("x-ratelimit-reset".into(), "1900000000".into()),
            ("x-ratelimit-resource".into(), "core".into()),
        ]);
    }
    for (k, v) in headers {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    // A client that gave up (timeout) closes the socket; nothing to do about it.
    let _ = request.respond(response);
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    use crate::http::{Http, HttpConfig, TokenSource};

    fn fake() -> FakeRegistry {
        let manifest = crate::manifest::parse("t", &crate::testing::targets_json()).unwrap();
        FakeRegistry::start(PublishedRelease::coherent(&manifest, "0.8.0").unwrap()).unwrap()
    }

    #[test]
    fn github_fidelity() {
        let fake = fake();
        let api = fake.url(Service::GithubApi);
        let http = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(Some("tok".into())));
        let get = |path: &str| http.get(&format!("{api}{path}"), "application/vnd.github+json").unwrap();
        let release = get("/repos/sandover/plasmite/releases/tags/v0.8.0");
        assert_eq!(release.status, 200);
        let doc: Value = release.json().unwrap();
        assert_eq!(doc["assets"].as_array().unwrap().len(), 4);
        // Unknown paths and trailing slashes are GitHub-style 404s.
        for path in ["/repos/sandover/plasmite/releases/tags/v0.8.0/", "/nope"] {
            let r = get(path);
            assert_eq!(r.status, 404);
            assert_eq!(r.json::<Value>().unwrap()["message"], "Not Found");
        }
        // The asset download redirects to another listener that refuses Authorization; the
        // client does not forward the token, so the bytes arrive.
        let sums_url = doc["assets"][3]["browser_download_url"].as_str().unwrap().to_string();
        let sums = http.get(&sums_url, "application/octet-stream").unwrap();
        assert_eq!(sums.status, 200, "{}", String::from_utf8_lossy(&sums.body));
        assert!(sums.url.starts_with(&fake.url(Service::AssetHost)));
        let asked: Vec<Logged> = fake.requests();
        assert!(asked.iter().filter(|r| r.authorization.is_some()).all(|r| r.path.starts_with("/gh-api/")));
        // Drafts are invisible by tag.
        fake.update(|r| r.draft = true);
        assert_eq!(get("/repos/sandover/plasmite/releases/tags/v0.8.0").status, 404);
    }

    #[test]
    fn etag_answers_304() {
        let fake = fake();
        let url = format!("{}/pl/as/plasmite", fake.url(Service::CratesIndex));
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let first = agent.get(&url).call().unwrap();
        let etag = first.headers().get("etag").unwrap().to_str().unwrap().to_string();
        let again = agent.get(&url).header("If-None-Match", &etag).call().unwrap();
        assert_eq!(again.status().as_u16(), 304);
    }

    #[test]
    fn runs_honour_head_sha_and_come_newest_first() {
        let fake = fake();
        fake.update(|r| {
            let sha = r.tag_commit.clone().unwrap();
            r.runs.push(WorkflowRun {
                id: 2,
                head_sha: sha,
                status: "in_progress".into(),
                conclusion: None,
                created_at: "2026-07-29T00:00:00Z".into(),
                ..WorkflowRun::default()
            });
        });
        let api = fake.url(Service::GithubApi);
        let http = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(None));
        let url = format!("{api}/repos/sandover/plasmite/actions/workflows/ci.yml/runs?head_sha=x");
        let none: Value = http.get(&url, "application/json").unwrap().json().unwrap();
        assert_eq!(none["total_count"], 0);
        let url = url.replace("head_sha=x", "status=completed");
        let done: Value = http.get(&url, "application/json").unwrap().json().unwrap();
        assert_eq!(done["total_count"], 1);
        let all: Value = http.get(&url.replace("?status=completed", ""), "application/json").unwrap().json().unwrap();
        assert_eq!(all["workflow_runs"][0]["id"], 2);
        assert!(all["workflow_runs"][0]["conclusion"].is_null());
    }

    #[test]
    fn actions_fidelity_runs_jobs_and_artifacts() {
        let fake = fake();
        let api = fake.url(Service::GithubApi);
        let repo = format!("{api}/repos/sandover/plasmite");
        let with_token = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(Some("tok".into())));
        let anonymous = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(None));
        let run: Value =
            with_token.get(&format!("{repo}/actions/runs/2001"), "application/json").unwrap().json().unwrap();
        assert_eq!(run["path"], ".github/workflows/release.yml");
        assert_eq!(run["name"], "release");
        assert_eq!(run["head_branch"], "v0.8.0");
        assert_eq!(with_token.get(&format!("{repo}/actions/runs/999"), "application/json").unwrap().status, 404);
        let jobs: Value =
            with_token.get(&format!("{repo}/actions/runs/2001/jobs"), "application/json").unwrap().json().unwrap();
        assert_eq!(jobs["total_count"], 3);
        let listed: Value = with_token
            .get(&format!("{repo}/actions/runs/2001/artifacts?name=release-metadata"), "application/json")
            .unwrap()
            .json()
            .unwrap();
        let zip_url = listed["artifacts"][0]["archive_download_url"].as_str().unwrap().to_string();
        // Anonymous downloads are refused; with a token, a 302 to the other host, which gets
        // no Authorization and serves the zip.
        assert_eq!(anonymous.get(&zip_url, "application/json").unwrap().status, 401);
        let zip = with_token.get(&zip_url, "application/json").unwrap();
        assert_eq!(zip.status, 200);
        assert!(zip.url.starts_with(&fake.url(Service::AssetHost).replace("/asset", "")));
        assert!(zip.body.starts_with(b"PK"));
        fake.update(|r| r.run_mut(2001).unwrap().artifacts[0].expired = true);
        assert_eq!(with_token.get(&zip_url, "application/json").unwrap().status, 410);
        // Workflow files that do not exist are 404, as GitHub answers.
        let missing = format!("{repo}/actions/workflows/nope.yml/runs");
        assert_eq!(with_token.get(&missing, "application/json").unwrap().status, 404);
    }

    #[test]
    fn dispatch_creates_a_run_that_moves_on_its_schedule_with_jobs_and_logs() {
        let fake = fake();
        let planned = WorkflowRun {
            schedule: Some((1, 2)),
            conclusion: Some("failure".into()),
            jobs: vec![
                Job::new("publish-npm", "success"),
                Job::new("sync-homebrew-tap", "failure").with_log("tap: 403\n"),
            ],
            ..WorkflowRun::default()
        };
        fake.update(|r| r.planned.entry("release-publish.yml".into()).or_default().push_back(planned));
        let api = fake.url(Service::GithubApi);
        let repo = format!("{api}/repos/sandover/plasmite");
        let http = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(Some("tok".into())));
        let url = format!("{repo}/actions/workflows/release-publish.yml/dispatches");
        let body = json!({"ref": "v0.8.0", "inputs": {"release_tag": "v0.8.0", "rehearsal": "true"}});
        assert_eq!(http.post_json(&url, &body).unwrap().status, 204);
        let wrong = json!({"ref": "v9.9.9"});
        assert_eq!(http.post_json(&url, &wrong).unwrap().status, 422, "no such ref");
        let unknown = format!("{repo}/actions/workflows/nope.yml/dispatches");
        assert_eq!(http.post_json(&unknown, &body).unwrap().status, 404);
        let d = fake.requests();
        assert!(d.iter().any(|l| l.method == "POST" && l.path.ends_with("/dispatches")));
        let dispatched = {
            let mut found = None;
            fake.update(|r| found = r.dispatches.first().cloned());
            found.unwrap()
        };
        assert_eq!(dispatched.inputs["rehearsal"], "true");
        assert_eq!(dispatched.git_ref, "v0.8.0");
        let run_url = format!("{repo}/actions/runs/{}", dispatched.run_id);
        let poll = || http.get(&run_url, "application/json").unwrap().json::<Value>().unwrap();
        let jobs = || http.get(&format!("{run_url}/jobs"), "application/json").unwrap().json::<Value>().unwrap();
        let first = poll();
        assert_eq!((first["status"].as_str(), first["event"].as_str()), (Some("queued"), Some("workflow_dispatch")));
        assert!(first["conclusion"].is_null());
        assert_eq!(jobs()["jobs"][0]["status"], "queued");
        assert_eq!(poll()["status"], "in_progress");
        assert_eq!(poll()["status"], "in_progress");
        let done = poll();
        assert_eq!((done["status"].as_str(), done["conclusion"].as_str()), (Some("completed"), Some("failure")));
        let listed = jobs();
        let failed = &listed["jobs"][1];
        assert_eq!(failed["conclusion"], "failure");
        // The log: a 302 to another host that takes no token, as GitHub's log storage.
        let log = http.get(&format!("{repo}/actions/jobs/{}/logs", failed["id"]), "application/json").unwrap();
        assert_eq!((log.status, log.body.as_slice()), (200, &b"tap: 403\n"[..]));
        assert!(log.url.starts_with(&fake.url(Service::AssetHost).replace("/asset", "")));
    }

    #[test]
    fn secrets_and_token_permissions_as_github_answers_them() {
        let fake = fake();
        let api = fake.url(Service::GithubApi);
        let repo = format!("{api}/repos/sandover/plasmite");
        let http = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(Some("tok".into())));
        let anonymous = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(None));
        let secrets = format!("{repo}/actions/secrets");
        assert_eq!(anonymous.get(&secrets, "application/json").unwrap().status, 401);
        let listed: Value = http.get(&secrets, "application/json").unwrap().json().unwrap();
        let names: Vec<&str> =
            listed["secrets"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"PYPI_API_TOKEN") && listed["secrets"][0].get("value").is_none(), "{listed}");
        let about = http.get(&repo, "application/json").unwrap();
        assert_eq!(about.json::<Value>().unwrap()["permissions"]["push"], true);
        assert_eq!(about.github.oauth_scopes, None, "a fine-grained token has no scopes header");
        // A fine-grained token without the secrets permission: 403 naming what was needed.
        fake.update(|r| r.grant = TokenGrant::default().without("secrets"));
        let refused = http.get(&secrets, "application/json").unwrap();
        assert_eq!(refused.status, 403);
        assert_eq!(refused.json::<Value>().unwrap()["message"], "Resource not accessible by personal access token");
        assert_eq!(refused.github.accepted_permissions.as_deref(), Some("secrets=read"));
        fake.update(|r| r.grant = TokenGrant::default().without("actions"));
        let dispatch = http
            .post_json(&format!("{repo}/actions/workflows/release.yml/dispatches"), &json!({"ref": "v0.8.0"}))
            .unwrap();
        assert_eq!((dispatch.status, dispatch.github.accepted_permissions.as_deref()), (403, Some("actions=write")));
        // A classic token: its scopes in every answer.
        fake.update(|r| r.grant = TokenGrant::classic(&["repo", "workflow"]));
        let about = http.get(&repo, "application/json").unwrap();
        assert_eq!(about.github.oauth_scopes.as_deref(), Some("repo, workflow"));
    }

    #[test]
    fn issues_fidelity_list_and_file() {
        let fake = fake();
        let api = fake.url(Service::GithubApi);
        let issues = format!("{api}/repos/sandover/plasmite/issues");
        let http = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(Some("tok".into())));
        let anonymous = Http::new(HttpConfig::fast(), &api, TokenSource::Fixed(None));
        let body = json!({"title": "t1", "body": "b", "labels": ["release-blocker"]});
        assert_eq!(anonymous.post_json(&issues, &body).unwrap().status, 401);
        let created = http.post_json(&issues, &body).unwrap();
        assert_eq!(created.status, 201);
        assert_eq!(created.json::<Value>().unwrap()["number"], 1);
        assert_eq!(http.post_json(&issues, &json!({"body": "no title"})).unwrap().status, 422);
        fake.update(|r| {
            r.issues.push(Issue {
                number: 7,
                title: "a pull request".into(),
                body: String::new(),
                labels: vec!["release-blocker".into()],
                state: "open".into(),
                pull_request: true,
            });
            for n in 10..12 {
                r.issues.push(Issue {
                    number: n,
                    title: format!("other {n}"),
                    body: String::new(),
                    labels: vec!["bug".into()],
                    state: "open".into(),
                    pull_request: false,
                });
            }
        });
        let url = format!("{issues}?state=open&labels=release-blocker&per_page=1");
        let first = http.get(&url, "application/json").unwrap();
        let page: Value = first.json().unwrap();
        assert_eq!(page.as_array().unwrap().len(), 1);
        let second: Value = http.get(&format!("{url}&page=2"), "application/json").unwrap().json().unwrap();
        assert!(second[0]["pull_request"].is_object(), "pull requests are listed among issues");
        let logged = fake.requests();
        assert!(logged.iter().any(|l| l.method == "POST" && l.body.contains("release-blocker")));
        fake.update(|r| r.issues_enabled = false);
        assert_eq!(http.post_json(&issues, &body).unwrap().status, 410);
        // Only the GitHub API is ever written to.
        assert!(http.post_json(&format!("{}/x", fake.url(Service::Npm)), &body).is_err());
    }
}
