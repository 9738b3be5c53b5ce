//! [`Http`]: the one HTTP client every registry check shares (built on `ureq`).
//!
//! What it guarantees:
//! - connect and per-request timeouts, and response size caps ([`HttpConfig`]) counted on the
//!   decoded bytes (a gzip bomb stops at the cap, whatever its compressed size);
//! - downloads ([`Http::download`]) streamed through SHA-256 and SHA-512 (and, when asked, into
//!   a temporary file), never held whole in memory;
//! - retries with exponential backoff and jitter on transport errors, 429 and 5xx, honouring
//!   `Retry-After` (capped by [`HttpConfig::backoff_cap`]);
//! - an identifying `User-Agent` (crates.io refuses requests without one);
//! - `https` only, except for loopback addresses (the fake registry in tests);
//! - HTTPS trusts what cargo, pip and gh trust ([`crate::tls`]: `SSL_CERT_FILE`/`SSL_CERT_DIR`
//!   from the [`Env`], else the OS store), loaded on the first https request; a refused
//!   certificate is a [`TlsError`] naming the store it was checked against;
//! - redirects followed here, not by ureq: the GitHub token is sent only to URLs under the
//!   GitHub API base and never on a redirected hop, and loops are detected;
//! - the token is redacted from every error message.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::{Duration, Instant, UNIX_EPOCH},
};

use anyhow::bail;

use crate::{
    clock::Clock,
    env::Env,
    progress::{Progress, Reporter},
    tls::{self, TlsError, TrustSource},
};

/// Limits and identity of the client.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one whole request (connect, send, headers, body).
    pub request_timeout: Duration,
    /// Extra attempts after the first, on transport errors, 429 and 5xx.
    pub retries: u32,
    /// First backoff delay; doubles per attempt, with jitter.
    pub backoff_base: Duration,
    /// Longest wait between attempts, `Retry-After` included.
    pub backoff_cap: Duration,
    /// Largest response body read into memory, in decoded bytes.
    pub max_body: u64,
    /// Largest download streamed through the digests, in decoded bytes.
    pub max_download: u64,
    /// Most redirects followed for one request.
    pub max_redirects: u32,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retries: 3,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            // Documents (JSON, index files, sums, formulas) are small; 16 MiB leaves room for a
            // large npm packument while keeping a hostile answer far from the memory budget.
            max_body: 16 * 1024 * 1024,
            max_download: 512 * 1024 * 1024,
            max_redirects: 5,
            user_agent: format!("release-core/{} (release verification)", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl HttpConfig {
    /// Small limits for tests: 1 s timeouts, one retry, 50 ms backoff capped at 1 s, 1 MiB bodies,
    /// 8 MiB downloads.
    pub fn fast() -> HttpConfig {
        HttpConfig {
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            retries: 1,
            backoff_base: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(1),
            max_body: 1024 * 1024,
            max_download: 8 * 1024 * 1024,
            ..HttpConfig::default()
        }
    }

    /// The longest one a request can take (all attempts, waits and redirects), roughly.
    pub fn worst_case(&self) -> Duration {
        let attempts = self.retries + 1;
        (self.request_timeout + self.connect_timeout) * attempts * (self.max_redirects + 1)
            + self.backoff_cap * attempts
    }
}

/// Where the GitHub token comes from. Its `Debug` never shows a token.
#[derive(Clone)]
pub enum TokenSource {
    /// `GH_TOKEN`, then `GITHUB_TOKEN`, then `gh auth token` (on the `PATH`), all from the
    /// client's [`Env`]; looked up on first use.
    Discover,
    /// This token, or none.
    Fixed(Option<String>),
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Discover => f.write_str("Discover"),
            TokenSource::Fixed(Some(_)) => f.write_str("Fixed([redacted])"),
            TokenSource::Fixed(None) => f.write_str("Fixed(None)"),
        }
    }
}

/// A token that never prints itself.
#[derive(Clone)]
struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// One response, read in full (within the size cap).
#[derive(Debug, Clone)]
pub struct Response {
    /// The URL that answered, after redirects.
    pub url: String,
    /// HTTP status of that answer.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// The `Content-Type` header, when one came.
    pub content_type: Option<String>,
    /// The `Link` header (GitHub's pagination), when one came.
    pub link: Option<String>,
    /// GitHub's `X-OAuth-Scopes` (a classic token's scopes) and `X-Accepted-GitHub-Permissions`
    /// (what a refused request needed), when they came.
    pub github: GithubHeaders,
}

/// The headers in which GitHub says what a token may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GithubHeaders {
    /// `X-OAuth-Scopes`: sent for classic tokens only (`repo, workflow`).
    pub oauth_scopes: Option<String>,
    /// `X-Accepted-GitHub-Permissions`: the permissions the endpoint needs (`actions=write`).
    pub accepted_permissions: Option<String>,
}

impl Response {
    /// True for 2xx.
    pub fn ok(&self) -> bool {
        is_ok(self.status)
    }

    /// True for the statuses registries use for "not there": 404, 410, 451.
    pub fn absent(&self) -> bool {
        is_absent(self.status)
    }

    /// True when an HTML page came instead of a file (GitHub has served error pages with 200).
    pub fn is_html(&self) -> bool {
        is_html(self.content_type.as_deref())
    }

    /// The `rel="next"` URL of the `Link` header (GitHub's pagination), resolved against the
    /// URL that answered.
    pub fn next_link(&self) -> Option<String> {
        let next = next_link(self.link.as_deref()?)?;
        resolve(&self.url, &next).ok()
    }

    /// The body parsed as JSON, with an error naming the URL.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| anyhow::anyhow!("{}: unreadable JSON ({} bytes): {e}", self.url, self.body.len()))
    }
}

/// A download streamed through the digests (and into a temporary file when asked): its length
/// and hashes, never its bytes in memory.
#[derive(Debug)]
pub struct Download {
    /// The URL that answered, after redirects.
    pub url: String,
    /// HTTP status of that answer. Only a 2xx body is read; any other leaves the digests empty.
    pub status: u16,
    /// The `Content-Type` header, when one came.
    pub content_type: Option<String>,
    /// Bytes read (after decoding).
    pub len: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// SHA-512 of the bytes.
    pub sha512: Vec<u8>,
    /// The bytes, in an unnamed temporary file rewound to its start, when asked for.
    pub file: Option<std::fs::File>,
}

impl Download {
    /// True for 2xx.
    pub fn ok(&self) -> bool {
        is_ok(self.status)
    }

    /// True for the statuses registries use for "not there": 404, 410, 451.
    pub fn absent(&self) -> bool {
        is_absent(self.status)
    }

    /// True when an HTML page came instead of a file.
    pub fn is_html(&self) -> bool {
        is_html(self.content_type.as_deref())
    }
}

/// A header's value, when it is there and readable as text.
fn header_value(headers: &ureq::http::HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// The headers an answer keeps, GETs and POSTs alike: its type, its pagination link and what
/// GitHub says of the token.
fn kept_headers(headers: &ureq::http::HeaderMap) -> (Option<String>, Option<String>, GithubHeaders) {
    let github = GithubHeaders {
        oauth_scopes: header_value(headers, "x-oauth-scopes"),
        accepted_permissions: header_value(headers, "x-accepted-github-permissions"),
    };
    (header_value(headers, "content-type"), header_value(headers, "link"), github)
}

// One reading of an answer's status and type, for documents and downloads alike.
fn is_ok(status: u16) -> bool {
    (200..300).contains(&status)
}

fn is_absent(status: u16) -> bool {
    matches!(status, 404 | 410 | 451)
}

fn is_html(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// What a request's body becomes.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// Read into memory, up to [`HttpConfig::max_body`].
    Memory,
    /// Streamed through the digests, up to [`HttpConfig::max_download`]; `keep` also writes it
    /// to a temporary file.
    Stream { keep: bool },
}

/// A body as read.
#[derive(Debug, Default)]
enum Body {
    #[default]
    Unread,
    Bytes(Vec<u8>),
    Streamed {
        len: u64,
        sha256: String,
        sha512: Vec<u8>,
        file: Option<std::fs::File>,
    },
}

/// Reads `reader` (already decoded) in chunks, handing each to `each`, and stops with an error
/// naming `url` and the cap as soon as more than `limit` bytes came: the cap counts decoded
/// bytes, so a small compressed body that inflates without end is cut at the cap.
fn read_capped(
    reader: &mut dyn std::io::Read,
    url: &str,
    limit: u64,
    started: Instant,
    mut each: impl FnMut(&[u8]) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Failure::Transport(format!(
                    "{url}: reading the body failed after {:.1}s: {e}",
                    started.elapsed().as_secs_f64()
                )));
            }
        };
        total += n as u64;
        if total > limit {
            return Err(Failure::Fatal(format!(
                "{url}: response body is over the {limit}-byte cap (counted after decoding); stopped reading at the cap"
            )));
        }
        each(&buf[..n])?;
    }
}

/// The shared client. Cheap to share by reference across threads.
#[derive(Debug)]
pub struct Http {
    /// For plain http (loopback only): never does TLS, so it needs no trust store.
    agent: ureq::Agent,
    /// For https: built on first use with the trust of [`Http::env`], or why it could not be.
    tls: OnceLock<Result<(ureq::Agent, TrustSource), TlsError>>,
    config: HttpConfig,
    github_api: String,
    source: TokenSource,
    token: OnceLock<Option<Token>>,
    /// Where [`TokenSource::Discover`] looks.
    env: Env,
    /// What retry backoff sleeps on.
    clock: Clock,
    /// Where requests and retries are reported (nowhere unless [`Http::for_pass`]).
    progress: Reporter,
    /// Answers already had in this pass, when the client is a [`Http::for_pass`] copy.
    memo: Option<Arc<Memo>>,
}

/// The answers of one pass of work (one verify round), by URL and `Accept`: a document two
/// checks read (the release, its sums file, the tag) is fetched once, and a second asker
/// waits for the first one's answer instead of sending the same request alongside it. Failures
/// are kept too: the second asker sees the same failure, not a second try that might differ.
#[derive(Debug, Default)]
struct Memo {
    slots: Mutex<HashMap<(String, String), Slot>>,
}

/// One document's answer in a [`Memo`]: filled once, by the first asker.
type Slot = Arc<OnceLock<Result<Response, Failed>>>;

/// A failed fetch as a [`Memo`] keeps it for the askers after the first: a refused certificate
/// stays a [`TlsError`] (its finding names the trust store and how to add a CA), anything
/// else is its message.
#[derive(Debug, Clone)]
enum Failed {
    Tls(TlsError),
    Other(String),
}

impl Failed {
    fn of(e: anyhow::Error) -> Failed {
        match e.downcast::<TlsError>() {
            Ok(tls) => Failed::Tls(tls),
            Err(e) => Failed::Other(format!("{e:#}")),
        }
    }

    fn error(self) -> anyhow::Error {
        match self {
            Failed::Tls(tls) => anyhow::Error::new(tls),
            Failed::Other(message) => anyhow::anyhow!(message),
        }
    }
}

impl Memo {
    fn slot(&self, url: &str, accept: &str) -> Slot {
        // The map holds plain values, valid whatever a panicking holder was doing.
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry((url.to_string(), accept.to_string())).or_default().clone()
    }
}

impl Http {
    /// A client; `github_api` is the base URL under which (and only under which) the token is
    /// sent. It sleeps on [`Clock::System`] and discovers no token until given an [`Env`]
    /// ([`Http::with_clock`], [`Http::with_env`]; `Context` does both).
    pub fn new(config: HttpConfig, github_api: &str, source: TokenSource) -> Http {
        let agent = agent(&config, ureq::tls::RootCerts::WebPki);
        Http {
            agent,
            tls: OnceLock::new(),
            config,
            github_api: github_api.trim_end_matches('/').to_string(),
            source,
            token: OnceLock::new(),
            env: Env::empty(),
            clock: Clock::System,
            progress: Reporter::none(),
            memo: None,
        }
    }

    /// A copy of this client for one pass of work (a verify round): it sends each request and
    /// retry to `progress`, and fetches each document (URL and `Accept`) at most once, however
    /// many checks ask for it, concurrently or not. Downloads are not kept: each is streamed
    /// through its digests once. Drop the copy to forget the answers (the next round asks again).
    pub fn for_pass(&self, progress: Reporter) -> Http {
        // Discover the token once, here, so each pass's copy does not run `gh auth token` again.
        let _ = self.token();
        Http {
            agent: self.agent.clone(),
            tls: self.tls.clone(),
            config: self.config.clone(),
            github_api: self.github_api.clone(),
            source: self.source.clone(),
            token: self.token.clone(),
            env: self.env.clone(),
            clock: self.clock.clone(),
            progress,
            memo: Some(Arc::default()),
        }
    }

    /// The same client, waiting between retries on `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Http {
        self.clock = clock;
        self
    }

    /// The same client, discovering its token (if [`TokenSource::Discover`]) in `env`.
    pub fn with_env(mut self, env: &Env) -> Http {
        self.env = env.clone();
        self.token = OnceLock::new();
        self.tls = OnceLock::new();
        self
    }

    /// Where HTTPS trust comes from in this client's [`Env`] (loading it if not yet loaded),
    /// or why it cannot be loaded.
    pub fn trust(&self) -> Result<&TrustSource, &TlsError> {
        self.tls_agent().map(|(_, source)| source)
    }

    fn tls_agent(&self) -> Result<&(ureq::Agent, TrustSource), &TlsError> {
        self.tls
            .get_or_init(|| match tls::load(&self.env) {
                Ok(trust) => Ok((agent(&self.config, trust.roots), trust.source)),
                Err(e) => Err(TlsError::Store { why: format!("{e:#}") }),
            })
            .as_ref()
    }

    /// The agent for `url`: https gets the one with the environment's trust.
    fn agent_for(&self, url: &str) -> Result<(&ureq::Agent, Option<&TrustSource>), TlsError> {
        if url.starts_with("https://") {
            let (agent, source) = self.tls_agent().map_err(Clone::clone)?;
            return Ok((agent, Some(source)));
        }
        Ok((&self.agent, None))
    }

    /// The error of a failed call: a refused certificate is a [`TlsError`] naming the store.
    fn call_failure(url: &str, trust: Option<&TrustSource>, e: ureq::Error) -> Failure {
        match (tls::rejected_certificate(&e), trust) {
            (Some(why), Some(trust)) => {
                Failure::Tls(TlsError::Rejected { url: url.to_string(), why, trust: trust.clone() })
            }
            _ => Failure::Transport(format!("{url}: {e}")),
        }
    }

    /// The error a caller sees: a [`TlsError`] stays one (it holds no token: a URL and what
    /// the TLS library said), anything else is redacted text.
    fn public_error(&self, e: anyhow::Error) -> anyhow::Error {
        match e.downcast::<TlsError>() {
            Ok(tls) => anyhow::Error::new(tls),
            Err(e) => anyhow::anyhow!("{}", self.redact(&format!("{e:#}"))),
        }
    }

    /// The GitHub API base (without a trailing `/`): the only place the token is sent.
    pub fn github_api(&self) -> &str {
        &self.github_api
    }

    /// Where the token comes from.
    pub fn token_source(&self) -> &TokenSource {
        &self.source
    }

    /// The limits in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    fn token(&self) -> Option<&Token> {
        self.token
            .get_or_init(|| match &self.source {
                TokenSource::Fixed(t) => t.clone().filter(|t| !t.is_empty()).map(Token),
                TokenSource::Discover => discover_token(&self.env).map(Token),
            })
            .as_ref()
    }

    /// Whether a token is available (without saying what it is).
    pub fn has_token(&self) -> bool {
        self.token().is_some()
    }

    /// Removes the token from `text`.
    pub fn redact(&self, text: &str) -> String {
        match self.token() {
            Some(Token(t)) if !t.is_empty() => text.replace(t.as_str(), "[redacted]"),
            _ => text.to_string(),
        }
    }

    /// GETs `url` with `accept`, following redirects. `Ok` for any final HTTP status (the caller
    /// decides what 404 means); `Err` when no answer could be had: transport errors, timeouts,
    /// retryable statuses after the last attempt, bodies over the cap, redirect loops, non-https URLs.
    pub fn get(&self, url: &str, accept: &str) -> anyhow::Result<Response> {
        self.get_inner(url, accept).map_err(|e| self.public_error(e))
    }

    fn get_inner(&self, url: &str, accept: &str) -> anyhow::Result<Response> {
        let Some(memo) = &self.memo else { return self.get_once(url, accept) };
        let slot = memo.slot(url, accept);
        slot.get_or_init(|| self.get_once(url, accept).map_err(Failed::of)).clone().map_err(Failed::error)
    }

    fn get_once(&self, url: &str, accept: &str) -> anyhow::Result<Response> {
        let (url, raw) = self.follow(url, accept, Want::Memory)?;
        let body = match raw.body {
            Body::Bytes(b) => b,
            _ => Vec::new(),
        };
        Ok(Response {
            url,
            status: raw.status,
            body,
            content_type: raw.content_type,
            link: raw.link,
            github: raw.github,
        })
    }

    /// GETs `url` as [`Http::get`] does, but streams a 2xx body through SHA-256 and SHA-512
    /// (and into a temporary file when `keep`) instead of holding it: memory stays flat
    /// whatever the size, and a body over [`HttpConfig::max_download`] (decoded) is an error
    /// naming the URL and the cap. Another status leaves the body unread.
    pub fn download(&self, url: &str, accept: &str, keep: bool) -> anyhow::Result<Download> {
        self.follow(url, accept, Want::Stream { keep })
            .map(|(url, raw)| {
                let (len, sha256, sha512, file) = match raw.body {
                    Body::Streamed { len, sha256, sha512, file } => (len, sha256, sha512, file),
                    _ => (0, String::new(), Vec::new(), None),
                };
                Download { url, status: raw.status, content_type: raw.content_type, len, sha256, sha512, file }
            })
            .map_err(|e| self.public_error(e))
    }

    /// Follows redirects from `url`; returns the URL that answered and its answer.
    fn follow(&self, url: &str, accept: &str, want: Want) -> anyhow::Result<(String, Raw)> {
        let mut current = url.to_string();
        let mut seen = vec![current.clone()];
        for hop in 0..=self.config.max_redirects {
            check_scheme(&current)?;
            // The token goes only to the GitHub API, and only on the first hop: a redirect
            // target (a CDN, another host) never sees it.
            let token = (hop == 0 && self.is_github_api(&current)).then(|| self.token()).flatten();
            let raw = self.attempts(&current, accept, token, want)?;
            if let (true, Some(location)) = ((300..400).contains(&raw.status), raw.location.as_deref()) {
                let next = resolve(&current, location)?;
                if seen.contains(&next) {
                    bail!("{url}: redirect loop ({} -> {next})", seen.join(" -> "));
                }
                seen.push(next.clone());
                current = next;
                continue;
            }
            return Ok((current, raw));
        }
        bail!("{url}: more than {} redirects ({})", self.config.max_redirects, seen.join(" -> "))
    }

    /// POSTs a JSON body to `url`, which must be under the GitHub API base (the only service
    /// written to); the token goes with it. Never retried and never redirected: a request that
    /// may have created something is not sent twice. Callers make a re-run safe instead
    /// (blockers are de-duplicated by title). `Ok` for any HTTP status.
    pub fn post_json(&self, url: &str, body: &serde_json::Value) -> anyhow::Result<Response> {
        self.post_inner(url, body).map_err(|e| self.public_error(e))
    }

    fn post_inner(&self, url: &str, body: &serde_json::Value) -> anyhow::Result<Response> {
        check_scheme(url)?;
        if !self.is_github_api(url) {
            bail!("{url}: only the GitHub API ({}) is written to", self.github_api);
        }
        let (agent, trust) = self.agent_for(url)?;
        let mut request = agent
            .post(url)
            .header("Accept", "application/vnd.github+json")
            .header("Content-Type", "application/json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(Token(t)) = self.token() {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        self.progress.send(Progress::Request { method: "POST", url: url.to_string() });
        let mut response =
            request.send(body.to_string().as_bytes()).map_err(|e| match Self::call_failure(url, trust, e) {
                Failure::Tls(tls) => anyhow::Error::new(tls),
                other => anyhow::anyhow!("{other}"),
            })?;
        let status = response.status().as_u16();
        let (content_type, link, github) = kept_headers(response.headers());
        let mut body = Vec::new();
        let mut reader = response.body_mut().as_reader();
        read_capped(&mut reader, url, self.config.max_body, Instant::now(), |chunk| {
            body.extend_from_slice(chunk);
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("reading the answer failed: {e}"))?;
        Ok(Response { url: url.to_string(), status, body, content_type, link, github })
    }

    fn is_github_api(&self, url: &str) -> bool {
        url == self.github_api
            || url.strip_prefix(&self.github_api).is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
    }

    /// One URL, with retries. Returns status, Location and body.
    fn attempts(&self, url: &str, accept: &str, token: Option<&Token>, want: Want) -> anyhow::Result<Raw> {
        let mut attempt = 0;
        loop {
            self.progress.send(Progress::Request { method: "GET", url: url.to_string() });
            let result = self.once(url, accept, token, want);
            let retry_after = match &result {
                Ok(raw) if raw.status == 429 || raw.status >= 500 => Some(raw.retry_after),
                Ok(_) => None,
                Err(Failure::Fatal(_) | Failure::Tls(_)) => None,
                Err(Failure::Transport(_)) => Some(None),
            };
            match (retry_after, result) {
                (None, Ok(raw)) => return Ok(raw),
                (None, Err(Failure::Tls(tls))) => return Err(anyhow::Error::new(tls)),
                (None, Err(e)) => return Err(e.into()),
                (Some(wait), result) => {
                    if attempt >= self.config.retries {
                        return match result {
                            Ok(raw) => bail!("{url}: HTTP {} after {} attempts", raw.status, attempt + 1),
                            Err(e) => Err(anyhow::Error::from(e).context(format!("after {} attempts", attempt + 1))),
                        };
                    }
                    let wait = self.backoff(attempt, wait);
                    if self.progress.is_listening() {
                        let why = match &result {
                            Ok(raw) => raw.status.to_string(),
                            Err(e) => e
                                .to_string()
                                .strip_prefix(&format!("{url}: "))
                                .map(str::to_string)
                                .unwrap_or_else(|| e.to_string()),
                        };
                        let attempts = self.config.retries + 1;
                        let (method, url) = ("GET", url.to_string());
                        self.progress.send(Progress::Retry { method, url, why, attempt: attempt + 2, attempts, wait });
                    }
                    self.clock.sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let cap = self.config.backoff_cap;
        if let Some(wait) = retry_after {
            return wait.min(cap);
        }
        let exp = self.config.backoff_base.saturating_mul(1u32 << attempt.min(16));
        let base = exp.min(cap);
        // Jitter: up to half the delay again, from the clock's nanoseconds (no RNG dependency).
        let nanos = self.clock.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let jitter = base.mul_f64(f64::from(nanos % 1000) / 2000.0);
        (base + jitter).min(cap)
    }

    fn once(&self, url: &str, accept: &str, token: Option<&Token>, want: Want) -> Result<Raw, Failure> {
        let (agent, trust) = self.agent_for(url).map_err(Failure::Tls)?;
        let mut request = agent.get(url).header("Accept", accept);
        if self.is_github_api(url) {
            request = request.header("X-GitHub-Api-Version", "2022-11-28");
        }
        if let Some(Token(t)) = token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        let started = Instant::now();
        let mut response = request.call().map_err(|e| Self::call_failure(url, trust, e))?;
        let status = response.status().as_u16();
        let header = |name: &str| header_value(response.headers(), name);
        let location = header("location");
        let (content_type, link, github) = kept_headers(response.headers());
        let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
        let limit = match want {
            Want::Memory => self.config.max_body,
            Want::Stream { .. } => self.config.max_download,
        };
        // The announced length is of the bytes on the wire (compressed, if encoded); it can
        // refuse early, but only the decoded count below bounds what is read.
        if let Some(length) = response.body().content_length()
            && length > limit
        {
            return Err(Failure::Fatal(format!("{url}: response of {length} bytes is over the {limit}-byte cap")));
        }
        let mut reader = response.body_mut().as_reader();
        let body = match want {
            Want::Memory => {
                let mut body = Vec::new();
                read_capped(&mut reader, url, limit, started, |chunk| {
                    body.extend_from_slice(chunk);
                    Ok(())
                })?;
                Body::Bytes(body)
            }
            // Only a file is worth hashing; redirects, errors and retries are not read.
            Want::Stream { .. } if !(200..300).contains(&status) => Body::Unread,
            Want::Stream { keep } => stream(&mut reader, url, limit, started, keep)?,
        };
        Ok(Raw { status, location, body, content_type, link, retry_after, github })
    }
}

/// Streams a body through SHA-256 and SHA-512, and into an unnamed temporary file when `keep`.
fn stream(
    reader: &mut dyn std::io::Read,
    url: &str,
    limit: u64,
    started: Instant,
    keep: bool,
) -> Result<Body, Failure> {
    use sha2::Digest as _;
    use std::io::{Seek as _, Write as _};
    let mut file = match keep {
        true => Some(tempfile::tempfile().map_err(|e| Failure::Fatal(format!("{url}: no temporary file: {e}")))?),
        false => None,
    };
    let (mut sha256, mut sha512) = (sha2::Sha256::new(), sha2::Sha512::new());
    let len = read_capped(reader, url, limit, started, |chunk| {
        sha256.update(chunk);
        sha512.update(chunk);
        if let Some(f) = file.as_mut() {
            f.write_all(chunk).map_err(|e| Failure::Fatal(format!("{url}: writing the temporary file: {e}")))?;
        }
        Ok(())
    })?;
    if let Some(f) = file.as_mut() {
        f.rewind().map_err(|e| Failure::Fatal(format!("{url}: rewinding the temporary file: {e}")))?;
    }
    let sha256 = sha256.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Body::Streamed { len, sha256, sha512: sha512.finalize().to_vec(), file })
}

/// One answer, before redirects are followed.
struct Raw {
    status: u16,
    location: Option<String>,
    body: Body,
    content_type: Option<String>,
    link: Option<String>,
    retry_after: Option<Duration>,
    github: GithubHeaders,
}

#[derive(Debug)]
enum Failure {
    /// Worth another attempt.
    Transport(String),
    /// Not worth another attempt.
    Fatal(String),
    /// HTTPS not trusted (no store, or the certificate refused): the same on every attempt.
    Tls(TlsError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transport(m) | Failure::Fatal(m) => f.write_str(m),
            Failure::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Failure {}

/// An agent with the client's limits and identity, trusting `roots` for https. Redirects are
/// followed by [`Http`] itself (the token must not follow them), so ureq follows none.
fn agent(config: &HttpConfig, roots: ureq::tls::RootCerts) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .https_only(false)
        .user_agent(config.user_agent.as_str())
        .timeout_connect(Some(config.connect_timeout))
        .timeout_global(Some(config.request_timeout))
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .build()
        .new_agent()
}

fn discover_token(env: &Env) -> Option<String> {
    for var in ["GH_TOKEN", "GITHUB_TOKEN"] {
        if let Some(t) = env.get(var)
            && !t.trim().is_empty()
        {
            return Some(t.trim().to_string());
        }
    }
    // `gh` is looked up on the snapshot's PATH (a PATH set on the command is what it is
    // resolved against), so an environment without PATH runs nothing.
    let out = std::process::Command::new("gh")
        .env("PATH", env.path()?)
        .args(["auth", "token"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let token = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !token.is_empty()).then_some(token)
}

/// The `rel="next"` target of a `Link` header (`<url>; rel="next", <url>; rel="last"`), as
/// written (possibly relative).
pub fn next_link(link: &str) -> Option<String> {
    // Split on `<`, not `,`: a URL may hold commas (`labels=a,b`) but never a raw `<` or `>`.
    link.split('<').skip(1).find_map(|part| {
        let (target, params) = part.split_once('>')?;
        let is_next = params.split([';', ',']).any(|p| {
            p.trim()
                .strip_prefix("rel=")
                .is_some_and(|rel| rel.trim_matches('"').split_whitespace().any(|r| r == "next"))
        });
        is_next.then(|| target.trim().to_string())
    })
}

/// The host of an `http(s)://host[:port]/...` URL, without the port.
pub fn host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

/// True for `localhost`, `127.x.x.x` and `::1`.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_scheme(url: &str) -> anyhow::Result<()> {
    let Some(h) = host(url) else { bail!("`{url}` is not an http(s) URL") };
    if url.starts_with("https://") || (url.starts_with("http://") && is_loopback(h)) {
        Ok(())
    } else {
        bail!("`{url}`: only https URLs are fetched (plain http only for loopback addresses)")
    }
}

/// Resolves a `Location` (absolute, host-relative or path-relative) against `base`.
pub fn resolve(base: &str, location: &str) -> anyhow::Result<String> {
    if location.starts_with("https://") || location.starts_with("http://") {
        return Ok(location.to_string());
    }
    let scheme_end = base.find("://").map(|i| i + 3).ok_or_else(|| anyhow::anyhow!("`{base}` has no scheme"))?;
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let origin = &base[..path_start];
    if let Some(rest) = location.strip_prefix("//") {
        return Ok(format!("{}{rest}", &base[..scheme_end]));
    }
    if location.starts_with('/') {
        return Ok(format!("{origin}{location}"));
    }
    let path = base[path_start..].split(['?', '#']).next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in location.split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            "." => {}
            s => parts.push(s),
        }
    }
    Ok(format!("{origin}/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_locations() {
        let b = "https://h.example/pypi/p/1.0/json";
        assert_eq!(resolve(b, "https://x/y").unwrap(), "https://x/y");
        assert_eq!(resolve(b, "/a/b").unwrap(), "https://h.example/a/b");
        assert_eq!(resolve(b, "../../packages/f.whl").unwrap(), "https://h.example/pypi/packages/f.whl");
        assert_eq!(resolve("http://127.0.0.1:9/a?x=1", "b").unwrap(), "http://127.0.0.1:9/b");
    }

    #[test]
    fn hosts_and_loopback() {
        assert_eq!(host("http://127.0.0.1:8080/x"), Some("127.0.0.1"));
        assert_eq!(host("https://api.github.com"), Some("api.github.com"));
        assert_eq!(host("http://[::1]:5/"), Some("::1"));
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && !is_loopback("10.0.0.1"));
        assert!(check_scheme("http://127.0.0.1:1/x").is_ok());
        assert!(check_scheme("http://example.com/x").is_err());
        assert!(check_scheme("ftp://example.com/x").is_err());
    }

    #[test]
    fn token_scope_is_the_api_prefix() {
        let http = Http::new(HttpConfig::fast(), "http://127.0.0.1:5/gh-api", TokenSource::Fixed(Some("t0k".into())));
        assert!(http.is_github_api("http://127.0.0.1:5/gh-api/repos/a/b"));
        assert!(!http.is_github_api("http://127.0.0.1:5/gh-api-evil/x"));
        assert!(!http.is_github_api("http://127.0.0.1:5/npm/x"));
        assert_eq!(http.redact("a t0k b"), "a [redacted] b");
        assert!(!format!("{http:?}").contains("t0k"));
    }

    #[test]
    fn next_link_is_the_rel_next_target() {
        let link = r#"<https://api.github.com/repos/o/r/issues?page=2>; rel="next", <https://api.github.com/repos/o/r/issues?page=5>; rel="last""#;
        assert_eq!(next_link(link).as_deref(), Some("https://api.github.com/repos/o/r/issues?page=2"));
        let last_page = r#"<https://x/i?page=1>; rel="first", <https://x/i?page=4>; rel="prev""#;
        assert_eq!(next_link(last_page), None);
        assert_eq!(next_link("garbage"), None);
        assert_eq!(next_link("<https://x/a>; rel=next").as_deref(), Some("https://x/a"));
        let commas = r#"<https://x/i?labels=a,b&page=3>; rel="next""#;
        assert_eq!(next_link(commas).as_deref(), Some("https://x/i?labels=a,b&page=3"));
    }

    #[test]
    fn discovered_token_comes_from_the_env_given() {
        let api = "http://127.0.0.1:5/gh-api";
        let env = Env::empty().with("GITHUB_TOKEN", " env-t0ken-canary ").with("GH_TOKEN", "");
        let http = Http::new(HttpConfig::fast(), api, TokenSource::Discover).with_env(&env);
        assert!(http.has_token());
        assert_eq!(
            http.redact("x env-t0ken-canary y"),
            "x [redacted] y",
            "GITHUB_TOKEN, trimmed; empty GH_TOKEN skipped"
        );
        // Whatever this process's own environment holds: no PATH in the snapshot, so not even
        // `gh` is asked.
        let bare = Http::new(HttpConfig::fast(), api, TokenSource::Discover).with_env(&Env::empty());
        assert!(!bare.has_token());
    }

    #[test]
    fn retries_wait_on_the_clock() {
        let clock = Clock::manual(UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let config = HttpConfig {
            retries: 3,
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(15),
            ..HttpConfig::fast()
        };
        let http = Http::new(config, "https://api.github.com", TokenSource::Fixed(None)).with_clock(clock);
        let real = Instant::now();
        let err = http.get(&crate::testing::closed_port_url(), "application/json").unwrap_err();
        assert!(format!("{err:#}").contains("after 4 attempts"), "{err:#}");
        let sleeps = manual.sleeps();
        assert_eq!(sleeps.len(), 3, "{sleeps:?}");
        assert!(sleeps[0] >= Duration::from_secs(10) && sleeps.iter().all(|s| *s <= Duration::from_secs(15)));
        assert!(real.elapsed() < Duration::from_secs(5), "no real backoff: {:?}", real.elapsed());
    }

    #[test]
    fn backoff_is_capped() {
        let http = Http::new(HttpConfig::fast(), "https://api.github.com", TokenSource::Fixed(None));
        assert!(http.backoff(20, None) <= Duration::from_secs(1));
        assert_eq!(http.backoff(0, Some(Duration::from_secs(120))), Duration::from_secs(1));
    }

    fn fake() -> crate::testing::FakeRegistry {
        let manifest = crate::testing::plasmite_manifest();
        crate::testing::FakeRegistry::start(crate::testing::PublishedRelease::coherent(&manifest, "0.8.0").unwrap())
            .unwrap()
    }

    #[test]
    fn the_cap_counts_decoded_bytes_and_stops_a_gzip_bomb() {
        use crate::testing::{Fault, Service};
        let fake = fake();
        // 64 MiB of zeros in about 64 KiB on the wire: under the 1 MiB cap as sent, far over
        // it decoded.
        fake.fault(Service::Npm, Fault::GzipBomb(64 * 1024 * 1024));
        fake.fault(Service::CratesDownload, Fault::GzipBomb(64 * 1024 * 1024));
        // The fake compresses the bomb on first use, which can take longer than the fast 1 s
        // timeout on a loaded machine; a timeout would be retried and spoil the count below.
        let config = HttpConfig { request_timeout: Duration::from_secs(30), ..HttpConfig::fast() };
        let http = Http::new(config, "http://127.0.0.1:1/gh-api", TokenSource::Fixed(None));
        let url = format!("{}/plasmite/0.8.0", fake.url(Service::Npm));
        let err = format!("{:#}", http.get(&url, "application/json").unwrap_err());
        assert!(err.contains(&url) && err.contains("1048576-byte cap") && err.contains("after decoding"), "{err}");
        let url = format!("{}/plasmite/plasmite-0.8.0.crate", fake.url(Service::CratesDownload));
        let err = format!("{:#}", http.download(&url, "application/octet-stream", true).unwrap_err());
        assert!(err.contains(&url) && err.contains("8388608-byte cap") && err.contains("after decoding"), "{err}");
        // Not retried: one request each.
        assert_eq!(fake.requests().len(), 2, "{:?}", fake.requests());
    }

    #[test]
    fn downloads_are_hashed_while_streaming() {
        use std::io::Read as _;
        let fake = fake();
        let release =
            crate::testing::PublishedRelease::coherent(&crate::testing::plasmite_manifest(), "0.8.0").unwrap();
        let asset = &release.assets[0];
        let url = format!("{}/v0.8.0/{}", fake.url(crate::testing::Service::AssetHost), asset.name);
        let http = Http::new(HttpConfig::fast(), "http://127.0.0.1:1/gh-api", TokenSource::Fixed(None));
        let d = http.download(&url, "application/octet-stream", true).unwrap();
        assert_eq!(d.status, 200);
        assert_eq!(d.len, asset.bytes.len() as u64);
        assert_eq!(d.sha256, crate::registry::sha256_hex(&asset.bytes));
        assert_eq!(crate::registry::sri_of(&d.sha512), crate::registry::sri_sha512(&asset.bytes));
        let mut kept = Vec::new();
        d.file.unwrap().read_to_end(&mut kept).unwrap();
        assert_eq!(kept, asset.bytes);
        let missing = http.download(&format!("{url}.nope"), "application/octet-stream", false).unwrap();
        assert!(missing.absent() && missing.len == 0 && missing.file.is_none());
    }
}
