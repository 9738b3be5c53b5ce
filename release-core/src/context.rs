//! `Context`: everything a check may touch, passed explicitly.

use camino::Utf8Path;

use crate::{clock::Clock, github, http, policy, policy::Policy, repo::Repo};

/// Everything a check may depend on, passed explicitly: no global state, so tests run in
/// parallel in one process against their own repositories and servers.
#[derive(Debug, Clone)]
pub struct Context {
    /// The repository being released.
    pub repo: Repo,
    /// Its policy.
    pub policy: Policy,
    /// Where "now" comes from.
    pub clock: Clock,
    /// The HTTP client every registry check shares (token scoped to the GitHub API base).
    pub http: std::sync::Arc<http::Http>,
}

impl Context {
    /// Opens the repository containing `dir` and loads its policy (`policy` if given, else
    /// `release/policy.toml` under the root).
    pub fn open(dir: &Utf8Path, policy: Option<&Utf8Path>) -> anyhow::Result<Context> {
        let repo = Repo::discover(dir)?;
        let path = match policy {
            Some(p) => p.to_owned(),
            None => repo.path(policy::DEFAULT_PATH),
        };
        let shown = path.strip_prefix(repo.root()).map(Utf8Path::to_owned).unwrap_or_else(|_| path.clone());
        let policy = Policy::load(&path, &shown)?;
        Ok(Context::new(repo, policy, http::HttpConfig::default(), http::TokenSource::Discover))
    }

    /// A context from parts, with an HTTP client built from `config` and `token`; the GitHub
    /// API base comes from the policy's `[endpoints]` (or the public default).
    pub fn new(repo: Repo, policy: Policy, config: http::HttpConfig, token: http::TokenSource) -> Context {
        let api = github::api_base(policy.endpoints.github_api.as_deref());
        let http = std::sync::Arc::new(http::Http::new(config, &api, token));
        Context { repo, policy, clock: Clock::System, http }
    }

    /// The same context with another HTTP configuration and token source.
    pub fn with_http(self, config: http::HttpConfig, token: http::TokenSource) -> Context {
        Context::new(self.repo, self.policy, config, token)
    }
}
