//! [`Env`]: the environment variables the library reads, captured once.
//!
//! The library never reads the process environment itself: `Context::open` takes a snapshot
//! with [`Env::from_process`], and checks read it through `cx.env`. A test builds its own
//! (`Env::empty().with("PATH", ...)`), so tests that differ in tokens or `PATH` run side by side
//! in one process.

use std::{
    collections::BTreeMap,
    ffi::{OsStr, OsString},
    fmt,
};

/// Environment variables whose values are secrets.
pub const SECRET_VARS: [&str; 6] =
    ["GH_TOKEN", "GITHUB_TOKEN", "CARGO_REGISTRY_TOKEN", "PYPI_API_TOKEN", "NPM_TOKEN", "NODE_AUTH_TOKEN"];

/// The variables [`Env::from_process`] captures, besides the secrets of
/// [`SECRET_VARS`] and [`MACHINE_VARS`]. A variable the library starts reading must be
/// added here.
pub const VARS: &[&str] = &[
    "PATH",
    "HOME",
    "CI",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "TERM",
    NESTED,
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    // smoke: where its temp dir goes, and whether rustup's toolchain came from the repository.
    "TMPDIR",
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_TOOLCHAIN_SOURCE",
    // Tests only: the command line's waits move a manual clock (see `cli::dispatch`).
    "RELEASE_CORE_MANUAL_CLOCK",
];

/// Set to `1` in the environment of every gate command `qa` runs, so a `cargo xtask release`
/// run inside a gate knows it is nested: it leaves the step summary, the annotations and the
/// log groups to the outer run, whose gate output already carries its own.
pub const NESTED: &str = "RELEASE_CORE_NESTED";

/// The variables that decide where each registry is and what HTTPS trusts, as the machine's
/// own tools read them ([`Env::from_process`] captures them too). Tests remove them from a
/// child's environment so the developer's settings do not leak in.
pub const MACHINE_VARS: &[&str] = &[
    // HTTPS trust, as OpenSSL-based tools read it (tls.rs).
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    // Where each registry is, as its own tools resolve it (endpoints/).
    "GITHUB_API_URL",
    "XDG_CONFIG_HOME",
    "CARGO_HOME",
    "CARGO_REGISTRIES_CRATES_IO_PROTOCOL",
    "npm_config_registry",
    "NPM_CONFIG_REGISTRY",
    "npm_config_userconfig",
    "NPM_CONFIG_USERCONFIG",
    "npm_config_globalconfig",
    "NPM_CONFIG_GLOBALCONFIG",
    "npm_config_prefix",
    "NPM_CONFIG_PREFIX",
    "PIP_INDEX_URL",
    "PIP_CONFIG_FILE",
    "UV_DEFAULT_INDEX",
    "UV_INDEX_URL",
    "UV_CONFIG_FILE",
];

/// A snapshot of environment variables. Its `Debug` never shows a secret's value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, OsString>,
}

impl Env {
    /// The variables of `VARS`, `MACHINE_VARS` and `SECRET_VARS` that are set
    /// in this process, read now and never again.
    pub fn from_process() -> Env {
        let names = VARS.iter().chain(MACHINE_VARS).chain(SECRET_VARS.iter());
        let vars = names.filter_map(|&name| Some((name.to_string(), std::env::var_os(name)?))).collect();
        Env { vars }
    }

    /// No variables at all (no `PATH`, no token).
    pub fn empty() -> Env {
        Env::default()
    }

    /// The same snapshot with `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<OsString>) -> Env {
        self.vars.insert(name.to_string(), value.into());
        self
    }

    /// The same snapshot without `name`.
    pub fn without(mut self, name: &str) -> Env {
        self.vars.remove(name);
        self
    }

    /// The value of `name`, if set and valid UTF-8 (as `std::env::var(name).ok()`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).and_then(|v| v.to_str())
    }

    /// The value of `name`, if set, as the OS gave it.
    pub fn get_os(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(name).map(OsString::as_os_str)
    }

    /// `PATH`, where programs are looked up.
    pub fn path(&self) -> Option<&OsStr> {
        self.get_os("PATH")
    }

    /// True when `name` is set to something other than the empty string.
    pub fn is_set(&self, name: &str) -> bool {
        self.get_os(name).is_some_and(|v| !v.is_empty())
    }

    /// The values of [`SECRET_VARS`] that are set (ignoring very short values, which would
    /// mask ordinary words): what redaction removes from every output.
    pub fn secrets(&self) -> Vec<String> {
        SECRET_VARS.iter().filter_map(|v| self.get(v)).filter(|s| s.trim().len() >= 8).map(str::to_string).collect()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.vars {
            if SECRET_VARS.contains(&name.as_str()) {
                map.entry(name, &"[redacted]");
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_read_and_debug_without_secrets() {
        let env = Env::empty().with("PATH", "/bin").with("GH_TOKEN", "ghp_secretvalue").with("NO_COLOR", "");
        assert_eq!(env.get("PATH"), Some("/bin"));
        assert_eq!(env.path(), Some(OsStr::new("/bin")));
        assert_eq!(env.get("HOME"), None);
        assert!(!env.is_set("NO_COLOR") && env.get("NO_COLOR") == Some(""));
        let shown = format!("{env:?}");
        assert!(shown.contains("/bin") && shown.contains("GH_TOKEN") && !shown.contains("secretvalue"), "{shown}");
        assert_eq!(env.without("PATH").path(), None);
    }
}
