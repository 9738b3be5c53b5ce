//! `[endpoints]`: the base URLs of the services the checks read, and their validation.

use anyhow::bail;
use serde::Deserialize;

/// `[endpoints]`: base URLs, all optional. A key set here overrides the URL the ecosystem's own
/// tools on the machine would use (resolved by the `endpoints` module; docs/endpoints.md), and
/// tests point every one of them at a fake server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// Sparse index base of crates.io.
    pub crates_index: Option<String>,
    /// Download base of `.crate` files.
    pub crates_download: Option<String>,
    /// npm registry base.
    pub npm: Option<String>,
    /// PyPI base (the one that serves `/pypi/<name>/json`).
    pub pypi: Option<String>,
    /// GitHub REST API base.
    pub github_api: Option<String>,
    /// GitHub web base (release download URLs in formulas).
    pub github_web: Option<String>,
}

impl Endpoints {
    /// Every URL given must be http(s); the error names the key (`at` gives its place in the
    /// policy, `file:line`).
    pub(crate) fn check(&self, at: impl Fn(&str) -> String) -> anyhow::Result<()> {
        for (name, url) in [
            ("crates_index", &self.crates_index),
            ("crates_download", &self.crates_download),
            ("npm", &self.npm),
            ("pypi", &self.pypi),
            ("github_api", &self.github_api),
            ("github_web", &self.github_web),
        ] {
            if let Some(url) = url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                bail!("{}: endpoints.{name} must be an http(s) URL, got `{url}`", at(name));
            }
        }
        Ok(())
    }
}
