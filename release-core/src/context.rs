//! `Context`: everything a check may touch, passed explicitly.

use camino::Utf8Path;

use crate::{
    clock::Clock,
    endpoints::{self, ResolvedEndpoints},
    env::Env,
    http, policy,
    policy::Policy,
    repo::Repo,
};

/// Everything a check may depend on, passed explicitly: no global state, so tests run in
/// parallel in one process against their own repositories and servers.
#[derive(Debug, Clone)]
pub struct Context {
    /// The repository being released.
    pub repo: Repo,
    /// Its policy.
    pub policy: Policy,
    /// Where "now" comes from, and what every wait sleeps on. Change it with
    /// [`Context::with_clock`], so the HTTP client waits on the same clock.
    pub clock: Clock,
    /// The environment variables the library reads (tokens, `PATH`, CI variables), captured
    /// once. Change it with [`Context::with_env`], so the HTTP client discovers its token there.
    pub env: Env,
    /// The HTTP client every registry check shares (token scoped to the GitHub API base).
    pub http: std::sync::Arc<http::Http>,
    /// Each service's base URL and where it came from: the policy's `[endpoints]`, else what
    /// the ecosystem's own tools on this machine use (resolved from [`Context::env`] and the
    /// repository; follows [`Context::with_env`]).
    pub endpoints: ResolvedEndpoints,
}

impl Context {
    /// Opens the repository containing `dir`, loads its policy (`policy` if given, else
    /// `release/policy.toml` under the root) and reads the process environment, once.
    pub fn open(dir: &Utf8Path, policy: Option<&Utf8Path>) -> anyhow::Result<Context> {
        let repo = Repo::discover(dir)?;
        let path = match policy {
            Some(p) => p.to_owned(),
            None => repo.path(policy::DEFAULT_PATH),
        };
        let shown = path.strip_prefix(repo.root()).map(Utf8Path::to_owned).unwrap_or_else(|_| path.clone());
        let policy = Policy::load_in(repo.root(), &path, &shown)?;
        Ok(Context::new(repo, policy, http::HttpConfig::default(), http::TokenSource::Discover, Env::from_process()))
    }

    /// A context from parts, on the system clock, with an HTTP client built from `config` and
    /// `token`; the endpoints (the GitHub API base among them) are resolved from the policy's
    /// `[endpoints]`, `env` and the repository.
    pub fn new(repo: Repo, policy: Policy, config: http::HttpConfig, token: http::TokenSource, env: Env) -> Context {
        let endpoints = endpoints::resolve(&policy, &env, repo.root());
        let http = build_http(&endpoints, config, token, &env, &Clock::System);
        Context { repo, policy, clock: Clock::System, env, http, endpoints }
    }

    /// The same context with another HTTP configuration and token source.
    pub fn with_http(self, config: http::HttpConfig, token: http::TokenSource) -> Context {
        let http = build_http(&self.endpoints, config, token, &self.env, &self.clock);
        Context { http, ..self }
    }

    /// The same context on another clock (the HTTP client's retries wait on it too).
    pub fn with_clock(self, clock: Clock) -> Context {
        let http = build_http(
            &self.endpoints,
            self.http.config().clone(),
            self.http.token_source().clone(),
            &self.env,
            &clock,
        );
        Context { clock, http, ..self }
    }

    /// The same context with another environment (the HTTP client discovers its token and
    /// its HTTPS trust there, and the endpoints are resolved again).
    pub fn with_env(self, env: Env) -> Context {
        let endpoints = endpoints::resolve(&self.policy, &env, self.repo.root());
        let http =
            build_http(&endpoints, self.http.config().clone(), self.http.token_source().clone(), &env, &self.clock);
        Context { env, http, endpoints, ..self }
    }
}

fn build_http(
    endpoints: &ResolvedEndpoints,
    config: http::HttpConfig,
    token: http::TokenSource,
    env: &Env,
    clock: &Clock,
) -> std::sync::Arc<http::Http> {
    // invariant: the GitHub API always resolves to a URL (the policy, GITHUB_API_URL or the default).
    let api = endpoints.github_api.url.as_deref().unwrap_or(crate::github::API);
    std::sync::Arc::new(http::Http::new(config, api, token).with_env(env).with_clock(clock.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_client_follows_the_contexts_env_and_clock() {
        let repo = crate::testing::FixtureRepo::plasmite("0.8.0").build().unwrap();
        let env = Env::empty().with("GH_TOKEN", "ctx-t0ken-canary");
        let cx = Context::open(repo.root(), None).unwrap().with_env(env.clone());
        assert_eq!(cx.env, env);
        assert!(cx.http.has_token(), "discovered in the env given");
        assert_eq!(cx.http.redact("ctx-t0ken-canary"), "[redacted]");
        let clock = Clock::manual(std::time::UNIX_EPOCH);
        let cx = cx.with_clock(clock.clone()).with_http(http::HttpConfig::fast(), http::TokenSource::Discover);
        assert_eq!(cx.clock, clock, "kept across with_http");
        assert!(cx.http.has_token(), "the env is kept across with_http");
        assert!(!format!("{cx:?}").contains("ctx-t0ken-canary"), "Debug never shows a token");
        assert!(!cx.with_env(Env::empty()).http.has_token());
    }
}
