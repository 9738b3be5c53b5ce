//! The npm registry as npm resolves it, without running npm (it may be absent, and is slow):
//! the `registry` setting (for a scoped package, `@scope:registry` first) from, in npm's
//! order, the environment (`npm_config_registry`, `NPM_CONFIG_REGISTRY`), the project's
//! `.npmrc` (the npm package's folder, then the repository root), the user's `.npmrc`
//! (`NPM_CONFIG_USERCONFIG`, else `~/.npmrc`) and the global `npmrc` (`NPM_CONFIG_GLOBALCONFIG`,
//! else `$PREFIX/etc/npmrc` with the prefix from `NPM_CONFIG_PREFIX` or beside the `node` on the
//! `PATH`; best effort). Default: the public registry.

use camino::Utf8PathBuf;

use super::{Endpoint, Machine, NPM, Origin, http_url, ini_lines};

const KEY: &str = "npm";

/// The first of `names` set in the environment (npm reads its settings in either case).
fn env_var(machine: Machine<'_>, names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|&n| machine.env.get(n).filter(|v| !v.trim().is_empty()).map(|v| (n, v.trim().to_string())))
}

/// npm's configuration files, highest priority first.
fn files(machine: Machine<'_>, package_dirs: &[Utf8PathBuf]) -> Vec<Utf8PathBuf> {
    let mut out: Vec<Utf8PathBuf> = package_dirs.iter().map(|d| d.join(".npmrc")).collect();
    out.push(machine.repo.join(".npmrc"));
    match env_var(machine, &["npm_config_userconfig", "NPM_CONFIG_USERCONFIG"]) {
        Some((_, path)) => out.push(path.into()),
        None => out.extend(machine.home().map(|h| h.join(".npmrc"))),
    }
    match env_var(machine, &["npm_config_globalconfig", "NPM_CONFIG_GLOBALCONFIG"]) {
        Some((_, path)) => out.push(path.into()),
        None => out.extend(prefix(machine).map(|p| p.join("etc").join("npmrc"))),
    }
    let mut seen = Vec::new();
    out.retain(|p| {
        let new = !seen.contains(p);
        seen.push(p.clone());
        new
    });
    out
}

/// npm's global prefix: `NPM_CONFIG_PREFIX`, else the folder above the one holding `node` on
/// the `PATH` (npm's own default).
fn prefix(machine: Machine<'_>) -> Option<Utf8PathBuf> {
    if let Some((_, p)) = env_var(machine, &["npm_config_prefix", "NPM_CONFIG_PREFIX"]) {
        return Some(p.into());
    }
    let path = machine.env.path()?;
    std::env::split_paths(path).map(|d| d.join("node")).find(|n| n.is_file()).and_then(|node| {
        let node = std::fs::canonicalize(&node).unwrap_or(node);
        let prefix = node.parent()?.parent()?.to_path_buf();
        Utf8PathBuf::from_path_buf(prefix).ok()
    })
}

/// The npm registry of this machine for `package` (its name on npm, if the policy has one).
pub(super) fn registry(machine: Machine<'_>, package_dirs: &[Utf8PathBuf], package: Option<&str>) -> Endpoint {
    let scope_key = package
        .and_then(|p| p.strip_prefix('@'))
        .and_then(|p| p.split_once('/'))
        .map(|(s, _)| format!("@{s}:registry"));
    let files = files(machine, package_dirs);
    let texts: Vec<(Utf8PathBuf, String)> =
        files.into_iter().filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t))).collect();
    // A scope's own registry wins over `registry` wherever either is set.
    let keys: Vec<&str> = scope_key.iter().map(String::as_str).chain(["registry"]).collect();
    for key in keys {
        if key == "registry"
            && let Some((var, url)) = env_var(machine, &["npm_config_registry", "NPM_CONFIG_REGISTRY"])
        {
            return checked(&url, Origin::Env(var));
        }
        for (path, text) in &texts {
            let found = ini_lines(text).into_iter().rev().find(|(section, k, _, _)| section.is_empty() && k == key);
            if let Some((_, k, value, line)) = found {
                return checked(&value, Origin::File { path: path.clone(), line: Some(line), key: k });
            }
        }
    }
    Endpoint::found(KEY, NPM, Origin::Default)
}

fn checked(value: &str, origin: Origin) -> Endpoint {
    if value.contains("${") {
        let why = format!("`{value}` names an environment variable, which is not expanded here");
        return Endpoint::unusable(KEY, origin, why);
    }
    match http_url(value) {
        Ok(url) => Endpoint::found(KEY, url, origin),
        Err(why) => Endpoint::unusable(KEY, origin, why),
    }
}
