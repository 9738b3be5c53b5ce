//! [`FakeRegistry`]: one loopback HTTP server that speaks the JSON of the crates.io sparse
//! index, npm, the PyPI JSON API, GitHub REST (releases by tag, assets with 302 redirects to a
//! second listener that refuses `Authorization`, contents raw, git refs, workflow runs) and
//! serves a tap formula, from an in-memory [`PublishedRelease`]; with fault injection per
//! service ([`Fault`]).
//!
//! ```no_run
//! # use release_core::testing::{FakeRegistry, PublishedRelease, Service, Fault};
//! # fn demo(manifest: &release_core::targets::Manifest) -> anyhow::Result<()> {
//! let fake = FakeRegistry::start(PublishedRelease::coherent(manifest, "0.8.0")?)?;
//! fake.fault(Service::Npm, Fault::Status(500));
//! let toml = fake.endpoints_toml(); // append to release/policy.toml
//! # Ok(()) }
//! ```

use std::{
    collections::BTreeMap,
    io::Write,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    thread::JoinHandle,
    time::Duration,
};

use anyhow::Context as _;
use serde_json::{Value, json};
use tiny_http::{Header, Request, Response, Server};

use crate::{
    ReleaseTarget,
    registry::{self, homebrew},
    targets::{Manifest, Tier},
};

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
}

/// One `.crate` version in the index.
#[derive(Debug, Clone)]
pub struct CrateVersion {
    /// The version.
    pub vers: String,
    /// The `.crate` bytes served for download.
    pub bytes: Vec<u8>,
    /// The `cksum` written in the index (normally the bytes' SHA-256).
    pub cksum: String,
    /// Yank state.
    pub yanked: bool,
}

/// One npm version.
#[derive(Debug, Clone)]
pub struct NpmVersion {
    /// The tarball bytes.
    pub tarball: Vec<u8>,
    /// `dist.integrity` (normally the tarball's SRI).
    pub integrity: String,
}

/// One PyPI file.
#[derive(Debug, Clone)]
pub struct PypiFile {
    /// File name.
    pub filename: String,
    /// `sdist` or `bdist_wheel`.
    pub packagetype: String,
    /// Bytes served.
    pub bytes: Vec<u8>,
    /// `digests.sha256` (normally the bytes' SHA-256).
    pub sha256: String,
    /// PEP 592 yank.
    pub yanked: bool,
}

/// A GitHub release asset.
#[derive(Debug, Clone)]
pub struct Asset {
    /// File name.
    pub name: String,
    /// Bytes served.
    pub bytes: Vec<u8>,
    /// `digest` (normally `sha256:<hex of bytes>`); `None` serves null.
    pub digest: Option<String>,
}

/// A CI workflow run.
#[derive(Debug, Clone)]
pub struct CiRun {
    /// Run id.
    pub id: u64,
    /// The commit.
    pub head_sha: String,
    /// `completed`, `in_progress`...
    pub status: String,
    /// `success`, `failure`, or `None` until completed.
    pub conclusion: Option<String>,
    /// Creation time.
    pub created_at: String,
}

/// The "world" the fake serves: what is published where. Every field is public so a test can
/// break exactly one thing.
#[derive(Debug, Clone)]
pub struct PublishedRelease {
    /// The target version.
    pub target: ReleaseTarget,
    /// `owner/repo` of the project.
    pub repo: String,
    /// Crate, npm and PyPI package name.
    pub package: String,
    /// The tap `owner/repo` and the formula path in it.
    pub tap: (String, String),
    /// CI workflow file name.
    pub workflow: String,
    /// Sparse index lines, in publish order.
    pub crates: Vec<CrateVersion>,
    /// npm versions by version.
    pub npm: BTreeMap<String, NpmVersion>,
    /// npm `dist-tags`.
    pub npm_tags: BTreeMap<String, String>,
    /// PyPI releases by PEP 440 version; `true` = the whole release is yanked.
    pub pypi: BTreeMap<String, (Vec<PypiFile>, bool)>,
    /// PyPI `info.version` of the project document.
    pub pypi_current: String,
    /// Whether the GitHub release exists at all.
    pub release_exists: bool,
    /// Draft releases answer 404 by tag, as GitHub does.
    pub draft: bool,
    /// The release's `prerelease` flag.
    pub prerelease: bool,
    /// Release assets.
    pub assets: Vec<Asset>,
    /// Commit of the tag (an annotated tag object is served in between).
    pub tag_commit: Option<String>,
    /// Runs of the CI workflow.
    pub runs: Vec<CiRun>,
    /// The tap formula; `{github_web}` is replaced with the fake's web base when served.
    pub formula: Option<String>,
}

/// Builds a gzipped tarball of `(path, bytes)` entries.
pub fn tgz(files: &[(String, Vec<u8>)]) -> anyhow::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, path, bytes.as_slice())?;
    }
    Ok(builder.into_inner()?.finish()?)
}

/// The sums file text for assets: `<hex>  <name>` per archive, sorted by name.
pub fn sums_text(assets: &[Asset]) -> String {
    let mut lines: Vec<String> = assets
        .iter()
        .filter(|a| a.name.ends_with(".tar.gz"))
        .map(|a| format!("{}  {}\n", registry::sha256_hex(&a.bytes), a.name))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat()
}

fn wheel_tag(sdk_platform: &str) -> &'static str {
    match sdk_platform {
        "darwin_amd64" => "macosx_10_12_x86_64",
        "darwin_arm64" => "macosx_11_0_arm64",
        "windows_amd64" => "win_amd64",
        "linux_arm64" => "manylinux_2_17_aarch64.manylinux2014_aarch64",
        _ => "manylinux_2_17_x86_64.manylinux2014_x86_64",
    }
}

impl PublishedRelease {
    /// A release of `version` published consistently everywhere, as docs/plasmite/policy.toml
    /// describes plasmite (package `plasmite`, repo `sandover/plasmite`, tap
    /// `sandover/homebrew-tap`): an older 0.7.2 before it, the exact version on every
    /// registry with correct checksums, `latest`/current pointing at it (unless it is a
    /// pre-release), the GitHub release with one archive per github_sdk-official target and a
    /// matching sums file, a green CI run on the tag's commit, and an aligned formula.
    pub fn coherent(manifest: &Manifest, version: &str) -> anyhow::Result<PublishedRelease> {
        let target = ReleaseTarget::parse(version)?;
        let v = target.version();
        let pep = target.pep440().to_string();
        let name = "plasmite".to_string();
        let crate_bytes = |v: &str| format!("crate {v}").into_bytes();
        let crates = ["0.7.2", v.as_str()]
            .iter()
            .map(|vers| CrateVersion {
                vers: vers.to_string(),
                bytes: crate_bytes(vers),
                cksum: registry::sha256_hex(&crate_bytes(vers)),
                yanked: false,
            })
            .collect();
        let mut npm_files = vec![(
            "package/package.json".to_string(),
            format!("{{\"name\":\"{name}\",\"version\":\"{v}\"}}").into_bytes(),
        )];
        for t in manifest.in_channel("npm", Tier::Official)? {
            npm_files.push((format!("package/native/{}/index.node", t.node_platform), b"\x7fELF native".to_vec()));
        }
        let tarball = tgz(&npm_files)?;
        let old = tgz(&[("package/package.json".to_string(), b"{}".to_vec())])?;
        let npm = BTreeMap::from([
            ("0.7.2".to_string(), NpmVersion { integrity: registry::sri_sha512(&old), tarball: old }),
            (v.clone(), NpmVersion { integrity: registry::sri_sha512(&tarball), tarball }),
        ]);
        let stable = !target.is_prerelease();
        let latest = if stable { v.clone() } else { "0.7.2".to_string() };
        let file = |filename: String, packagetype: &str| {
            let bytes = format!("file {filename}").into_bytes();
            PypiFile {
                sha256: registry::sha256_hex(&bytes),
                bytes,
                filename,
                packagetype: packagetype.into(),
                yanked: false,
            }
        };
        let mut files = Vec::new();
        if manifest.targets.iter().any(|t| t.upload_sdist) {
            files.push(file(format!("{name}-{pep}.tar.gz"), "sdist"));
        }
        for t in manifest.in_channel("pypi", Tier::Official)? {
            files.push(file(format!("{name}-{pep}-cp311-cp311-{}.whl", wheel_tag(&t.sdk_platform)), "bdist_wheel"));
        }
        let pypi = BTreeMap::from([
            ("0.7.2".to_string(), (vec![file(format!("{name}-0.7.2.tar.gz"), "sdist")], false)),
            (pep.clone(), (files, false)),
        ]);
        let template = "plasmite_{version}_{sdk_platform}.tar.gz";
        let mut assets: Vec<Asset> = manifest
            .in_channel("github_sdk", Tier::Official)?
            .iter()
            .map(|t| {
                let name = registry::asset_name(template, &v, &t.sdk_platform);
                let bytes = format!("sdk {name}").into_bytes();
                Asset { digest: Some(format!("sha256:{}", registry::sha256_hex(&bytes))), name, bytes }
            })
            .collect();
        let sums = sums_text(&assets).into_bytes();
        assets.push(Asset {
            name: "sha256sums.txt".into(),
            digest: Some(format!("sha256:{}", registry::sha256_hex(&sums))),
            bytes: sums,
        });
        let commit = registry::sha256_hex(v.as_bytes())[..40].to_string();
        let runs = vec![CiRun {
            id: 1001,
            head_sha: commit.clone(),
            status: "completed".into(),
            conclusion: Some("success".into()),
            created_at: "2026-07-28T09:10:00Z".into(),
        }];
        let mut release = PublishedRelease {
            target,
            repo: "sandover/plasmite".into(),
            package: name,
            tap: ("sandover/homebrew-tap".into(), "Formula/plasmite.rb".into()),
            workflow: "ci.yml".into(),
            crates,
            npm,
            npm_tags: BTreeMap::from([("latest".to_string(), latest)]),
            pypi,
            pypi_current: if stable { pep } else { "0.7.2".into() },
            release_exists: true,
            draft: false,
            prerelease: !stable,
            assets,
            tag_commit: Some(commit),
            runs,
            formula: None,
        };
        release.formula = Some(release.render_formula(manifest)?);
        Ok(release)
    }

    /// Renders the aligned formula for the current assets (with the `{github_web}` placeholder).
    pub fn render_formula(&self, manifest: &Manifest) -> anyhow::Result<String> {
        let v = self.target.version();
        let mut platforms = BTreeMap::new();
        for t in manifest.in_channel("homebrew", Tier::Official)? {
            let name = registry::asset_name("plasmite_{version}_{sdk_platform}.tar.gz", &v, &t.sdk_platform);
            let asset = self.assets.iter().find(|a| a.name == name).with_context(|| format!("no asset {name}"))?;
            platforms.insert(t.sdk_platform.clone(), (name, registry::sha256_hex(&asset.bytes)));
        }
        Ok(homebrew::render(&homebrew::RenderInput {
            name: "plasmite".into(),
            repo: self.repo.clone(),
            github_web: "{github_web}".into(),
            version: v,
            platforms,
        }))
    }

    /// The asset named `name`, for a test to change.
    pub fn asset_mut(&mut self, name: &str) -> Option<&mut Asset> {
        self.assets.iter_mut().find(|a| a.name == name)
    }

    /// The sdk archive name of a platform for the target.
    pub fn archive(&self, sdk_platform: &str) -> String {
        registry::asset_name("plasmite_{version}_{sdk_platform}.tar.gz", &self.target.version(), sdk_platform)
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Method and path with query.
    pub path: String,
    /// The `Authorization` header, when one was sent.
    pub authorization: Option<String>,
}

struct State {
    release: PublishedRelease,
    faults: BTreeMap<String, Fault>,
    log: Vec<Logged>,
}

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
        let state = Arc::new(Mutex::new(State { release, faults: BTreeMap::new(), log: Vec::new() }));
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
    pub fn endpoints_toml(&self) -> String {
        self.endpoints_toml_with(&[])
    }

    /// As [`FakeRegistry::endpoints_toml`], with some services pointed elsewhere (e.g. a
    /// closed port) or left out (`None`).
    pub fn endpoints_toml_with(&self, overrides: &[(Service, Option<&str>)]) -> String {
        let mut out = String::from("\n[endpoints]\n");
        for s in Service::ALL {
            let Some(key) = s.endpoint_key() else { continue };
            let url = match overrides.iter().find(|(o, _)| *o == s) {
                Some((_, Some(u))) => u.to_string(),
                Some((_, None)) => continue,
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

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }

    /// Changes the published release while the fake runs.
    pub fn update(&self, change: impl FnOnce(&mut PublishedRelease)) {
        change(&mut lock(&self.state).release);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
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

/// A URL on 127.0.0.1 where nothing listens (connection refused).
pub fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a: SocketAddr| a.port())
        .unwrap_or(9);
    format!("http://127.0.0.1:{port}")
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }
    fn bytes(body: Vec<u8>, content_type: &str) -> Reply {
        Reply { status: 200, headers: vec![("Content-Type".into(), content_type.into())], body }
    }
    fn not_found() -> Reply {
        Reply::json(
            404,
            &json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
        )
    }
    fn redirect(to: &str) -> Reply {
        Reply { status: 302, headers: vec![("Location".into(), to.into())], body: Vec::new() }
    }
    fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

fn handle(request: Request, state: &Mutex<State>, base: &str, asset_base: &str, is_asset_host: bool) {
    let url = request.url().to_string();
    let header = |name: &'static str| {
        request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_string())
    };
    let authorization = header("Authorization");
    let if_none_match = header("If-None-Match");
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let (path, query) = (path.to_string(), query.to_string());
    let (fault, release) = {
        let mut s = lock(state);
        s.log.push(Logged { path: url.clone(), authorization: authorization.clone() });
        let prefix = if is_asset_host { "/asset" } else { path.split('/').nth(1).map_or("", |p| &url[..p.len() + 1]) };
        (s.faults.get(prefix).cloned(), s.release.clone())
    };
    let web = format!("{base}/gh-web");
    let normal = || {
        if is_asset_host {
            if authorization.is_some() {
                return Reply::json(400, &json!({"message": "Authorization is not accepted by the asset host"}));
            }
            return asset_host(&release, &path);
        }
        route(&release, &path, &query, base, asset_base, &web)
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

fn asset_host(release: &PublishedRelease, path: &str) -> Reply {
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

fn route(r: &PublishedRelease, path: &str, query: &str, base: &str, asset_base: &str, web: &str) -> Reply {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Http, HttpConfig, TokenSource};

    fn fake() -> FakeRegistry {
        let manifest = crate::targets::parse("t", &crate::testing::targets_json()).unwrap();
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
            r.runs.push(CiRun {
                id: 2,
                head_sha: sha,
                status: "in_progress".into(),
                conclusion: None,
                created_at: "2026-07-29T00:00:00Z".into(),
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
}
