//! `endpoints`: where each service is read from, and what HTTPS trusts. Reads nothing from
//! the network and records nothing.

use serde::Serialize;

use crate::context::Context;

/// The version of [`EndpointsOutcome`]'s JSON shape.
pub const SCHEMA_VERSION: u32 = 1;

/// What `endpoints` found.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointsOutcome {
    /// The version of this shape.
    pub schema_version: u32,
    /// Always `endpoints`.
    pub command: &'static str,
    /// Each service, in a fixed order.
    pub endpoints: Vec<EndpointLine>,
    /// What HTTPS trusts.
    pub tls: TrustLine,
}

/// One service's base URL and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointLine {
    /// The `[endpoints]` key that overrides it (`crates_index`, `npm`, ...).
    pub service: &'static str,
    /// The base URL, or `null` when the setting found cannot be used (`problem` says why) or
    /// the service itself says where (`crates_download`: the index's `config.json`).
    pub url: Option<String>,
    /// Where it came from (`default`, `policy [endpoints].npm (...)`, `/home/u/.npmrc line 3
    /// (registry)`, `environment PIP_INDEX_URL`).
    pub source: String,
    /// Why the setting found cannot be used, and the key to set; `null` when `url` is set.
    pub problem: Option<String>,
}

/// Where HTTPS trust comes from.
#[derive(Debug, Clone, Serialize)]
pub struct TrustLine {
    /// The store (`SSL_CERT_FILE=...`, `the system store ...`), or `null` when it cannot be loaded.
    pub trust: Option<String>,
    /// Why it cannot be loaded (an unreadable `SSL_CERT_FILE`), else `null`.
    pub error: Option<String>,
}

impl EndpointsOutcome {
    /// True when every service is decided (a URL, or the service's own answer) and the trust
    /// store loads.
    pub fn complete(&self) -> bool {
        self.endpoints.iter().all(|e| e.problem.is_none()) && self.tls.error.is_none()
    }
}

/// Each service's endpoint in `cx` (resolved when the context was made) and its HTTPS trust
/// (loaded now, from `cx.env`).
pub fn endpoints(cx: &Context) -> EndpointsOutcome {
    let endpoints = cx
        .endpoints
        .all()
        .into_iter()
        .map(|e| EndpointLine {
            service: e.key,
            url: e.url.clone(),
            source: e.origin.to_string(),
            problem: e.problem.is_some().then(|| e.unresolved_detail()),
        })
        .collect();
    let tls = match cx.http.trust() {
        Ok(source) => TrustLine { trust: Some(source.to_string()), error: None },
        Err(e) => TrustLine { trust: None, error: Some(e.to_string()) },
    };
    EndpointsOutcome { schema_version: SCHEMA_VERSION, command: "endpoints", endpoints, tls }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_service_with_its_source_and_the_trust() {
        let repo = crate::testing::FixtureRepo::plasmite("0.8.0").build().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let ca = crate::testing::write_test_ca(camino::Utf8Path::from_path(tmp.path()).unwrap()).unwrap();
        let env = crate::env::Env::empty()
            .with("PIP_INDEX_URL", "https://pip.example/simple")
            .with("CARGO_HOME", tmp.path().to_str().unwrap())
            .with("SSL_CERT_FILE", ca.as_str());
        let cx = Context::open(repo.root(), None).unwrap().with_env(env.clone());
        let out = endpoints(&cx);
        let services: Vec<_> = out.endpoints.iter().map(|e| e.service).collect();
        assert_eq!(services, ["crates_index", "crates_download", "npm", "pypi", "github_api", "github_web"]);
        let pypi = &out.endpoints[3];
        assert_eq!(
            (pypi.url.as_deref(), pypi.source.as_str()),
            (Some("https://pip.example"), "environment PIP_INDEX_URL")
        );
        assert_eq!(out.tls.trust, Some(format!("SSL_CERT_FILE={ca}")));
        assert!(out.complete());
        let cx = cx.with_env(env.with("SSL_CERT_FILE", "/nonexistent/ca.pem"));
        let out = endpoints(&cx);
        assert!(out.tls.error.as_deref().is_some_and(|e| e.contains("SSL_CERT_FILE=/nonexistent/ca.pem")), "{out:?}");
        assert!(!out.complete());
    }
}
