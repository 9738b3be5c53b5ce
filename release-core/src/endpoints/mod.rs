//! The base URL of every service a check reads, resolved the way the ecosystem's own tools on
//! this machine resolve it, and where each came from ([`ResolvedEndpoints`], [`resolve`]).
//!
//! The policy's `[endpoints]` overrides everything. Otherwise:
//! - crates: cargo's source configuration (`cargo.rs`): `.cargo/config.toml` from the
//!   repository upward, then `$CARGO_HOME/config.toml`, `[source.crates-io] replace-with`;
//!   default `https://index.crates.io`;
//! - npm: npm's `registry` setting (`npm.rs`): environment, project `.npmrc`, user `.npmrc`,
//!   global `npmrc`; default `https://registry.npmjs.org`;
//! - PyPI: pip's and uv's index settings (`python.rs`): `PIP_INDEX_URL`, `UV_DEFAULT_INDEX`,
//!   `UV_INDEX_URL`, `pip.conf`, `uv.toml`; default `https://pypi.org`. A Simple-API index URL
//!   (`.../simple`) gives the JSON API base by dropping `/simple`;
//! - GitHub: `GITHUB_API_URL` and `GITHUB_SERVER_URL` (set by GitHub Actions); defaults
//!   `https://api.github.com`, `https://github.com`.
//!
//! A setting that exists but cannot be used (a git index, a vendored source, an index URL
//! whose JSON API cannot be derived) leaves the endpoint without a URL, and its channel is
//! `Incomplete` naming the `[endpoints]` key to set ([`Endpoint::unresolved_detail`]).
//! Nothing here runs a tool (npm may be absent, and is slow); files are read as the tools
//! read them, and the environment only through [`Env`].

mod cargo;
mod npm;
mod python;

use std::fmt;

use camino::{Utf8Path, Utf8PathBuf};

use crate::{env::Env, github, policy::Policy};

/// The public crates.io sparse index.
pub const CRATES_INDEX: &str = "https://index.crates.io";
/// The public npm registry.
pub const NPM: &str = "https://registry.npmjs.org";
/// The public PyPI (its JSON API is `{base}/pypi/{name}/json`).
pub const PYPI: &str = "https://pypi.org";

/// Where a base URL (or an unusable setting) came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The policy's `[endpoints]`.
    Policy {
        /// The key (`npm`).
        key: &'static str,
        /// The policy file.
        file: Utf8PathBuf,
    },
    /// An environment variable.
    Env(&'static str),
    /// A configuration file: a line of an ini file, or a key of a TOML file.
    File {
        /// The file.
        path: Utf8PathBuf,
        /// The line, when known (ini files).
        line: Option<usize>,
        /// The key read, and how it was reached (`source.mirror.registry via source.crates-io.replace-with`).
        key: String,
    },
    /// Derived from another endpoint.
    Derived(String),
    /// The tool's own default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Policy { key, file } => write!(f, "policy [endpoints].{key} ({file})"),
            Origin::Env(var) => write!(f, "environment {var}"),
            Origin::File { path, line: Some(line), key } => write!(f, "{path} line {line} ({key})"),
            Origin::File { path, line: None, key } => write!(f, "{path} ({key})"),
            Origin::Derived(how) => f.write_str(how),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// One service's base URL and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The `[endpoints]` key that overrides it.
    pub key: &'static str,
    /// The base URL (no trailing `/`), or `None` when the setting found cannot be used (then
    /// `problem` says why) or the service says it itself when asked (`crates_download`).
    pub url: Option<String>,
    /// Where the URL (or the unusable setting) came from.
    pub origin: Origin,
    /// Why the setting found cannot be used, when `url` is `None`.
    pub problem: Option<String>,
}

impl Endpoint {
    fn found(key: &'static str, url: &str, origin: Origin) -> Endpoint {
        Endpoint { key, url: Some(url.trim_end_matches('/').to_string()), origin, problem: None }
    }

    fn unusable(key: &'static str, origin: Origin, problem: String) -> Endpoint {
        Endpoint { key, url: None, origin, problem: Some(problem) }
    }

    /// The detail of an `Incomplete` finding of a channel whose endpoint has no URL: what was
    /// found, where, and the key to set.
    pub fn unresolved_detail(&self) -> String {
        let problem = self.problem.as_deref().unwrap_or("no setting found");
        format!(
            "cannot tell which registry to read: {problem} ({}); set `endpoints.{}` in the policy to its base URL (see docs/endpoints.md)",
            self.origin, self.key
        )
    }
}

/// Every service's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedEndpoints {
    /// The crates.io sparse index (or its replacement).
    pub crates_index: Endpoint,
    /// Where `.crate` files are downloaded from: the policy's override, or no URL and no
    /// problem when the index's `config.json` decides (`dl`), as it does by default.
    pub crates_download: Endpoint,
    /// The npm registry.
    pub npm: Endpoint,
    /// The PyPI JSON API base.
    pub pypi: Endpoint,
    /// The GitHub REST API.
    pub github_api: Endpoint,
    /// The GitHub web base (release download URLs).
    pub github_web: Endpoint,
}

impl ResolvedEndpoints {
    /// All of them, in a fixed order.
    pub fn all(&self) -> [&Endpoint; 6] {
        [&self.crates_index, &self.crates_download, &self.npm, &self.pypi, &self.github_api, &self.github_web]
    }
}

/// What resolution reads besides the policy: the environment, the repository (project config
/// files), and the root under which system files (`/etc/pip.conf`) are looked up (`/`, or a
/// temporary directory in tests).
#[derive(Debug, Clone, Copy)]
pub struct Machine<'a> {
    /// The environment variables.
    pub env: &'a Env,
    /// The repository root.
    pub repo: &'a Utf8Path,
    /// The root of system-wide files.
    pub system: &'a Utf8Path,
}

impl Machine<'_> {
    /// The user's home directory (`HOME`), when set.
    fn home(&self) -> Option<Utf8PathBuf> {
        self.env.get("HOME").filter(|h| !h.is_empty()).map(Utf8PathBuf::from)
    }

    /// The user's configuration directory: `XDG_CONFIG_HOME`, else `~/.config`.
    fn config_home(&self) -> Option<Utf8PathBuf> {
        match self.env.get("XDG_CONFIG_HOME").filter(|h| !h.is_empty()) {
            Some(dir) => Some(Utf8PathBuf::from(dir)),
            None => self.home().map(|h| h.join(".config")),
        }
    }

    /// A system-wide file (`etc/pip.conf`) under the system root.
    fn system_file(&self, relative: &str) -> Utf8PathBuf {
        self.system.join(relative)
    }
}

/// The endpoints of this machine for `policy` in the repository at `repo`.
pub fn resolve(policy: &Policy, env: &Env, repo: &Utf8Path) -> ResolvedEndpoints {
    resolve_on(policy, Machine { env, repo, system: Utf8Path::new("/") })
}

/// [`resolve`] on the machine described.
pub fn resolve_on(policy: &Policy, machine: Machine<'_>) -> ResolvedEndpoints {
    let set = &policy.endpoints;
    let pinned = |key: &'static str, value: &Option<String>| {
        value.as_deref().map(|url| Endpoint::found(key, url, Origin::Policy { key, file: policy.path.clone() }))
    };
    let crates_index = pinned("crates_index", &set.crates_index).unwrap_or_else(|| cargo::index(machine));
    // Where `.crate` files come from is the index's own answer (`dl` in its `config.json`, as
    // cargo reads it), for crates.io and any mirror alike; the policy can only override it.
    let crates_download = pinned("crates_download", &set.crates_download).unwrap_or_else(|| Endpoint {
        key: "crates_download",
        url: None,
        origin: Origin::Derived("`dl` of the crates index's config.json, read when a .crate is downloaded".into()),
        problem: None,
    });
    let npm_package = policy.channels.npm.as_ref().map(|c| c.package.as_str());
    let npm_dirs: Vec<Utf8PathBuf> = policy
        .surfaces
        .iter()
        .filter(|s| s.file.file_name() == Some("package.json"))
        .filter_map(|s| s.file.parent().map(|d| machine.repo.join(d)))
        .collect();
    let npm = pinned("npm", &set.npm).unwrap_or_else(|| npm::registry(machine, &npm_dirs, npm_package));
    let pypi = pinned("pypi", &set.pypi).unwrap_or_else(|| python::index(machine));
    let from_env = |key: &'static str, var: &'static str, default: &str| match machine.env.get(var) {
        Some(url) if !url.trim().is_empty() => Endpoint::found(key, url.trim(), Origin::Env(var)),
        _ => Endpoint::found(key, default, Origin::Default),
    };
    let github_api =
        pinned("github_api", &set.github_api).unwrap_or_else(|| from_env("github_api", "GITHUB_API_URL", github::API));
    let github_web = pinned("github_web", &set.github_web)
        .unwrap_or_else(|| from_env("github_web", "GITHUB_SERVER_URL", github::WEB));
    ResolvedEndpoints { crates_index, crates_download, npm, pypi, github_api, github_web }
}

/// `url` when it is an http(s) URL, else why not.
fn http_url(url: &str) -> Result<&str, String> {
    let url = url.trim();
    match url.starts_with("https://") || url.starts_with("http://") {
        true => Ok(url),
        false => Err(format!("`{url}` is not an http(s) URL")),
    }
}

/// The `key = value` lines of an ini file (npmrc, pip.conf): `(section, key, value, line)`,
/// comments (`;`, `#`) and blank lines skipped, quotes around a value removed.
fn ini_lines(text: &str) -> Vec<(String, String, String, usize)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        out.push((section.clone(), key.trim().to_string(), value.to_string(), i + 1));
    }
    out
}

#[cfg(test)]
mod tests;
