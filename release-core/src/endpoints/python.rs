//! The PyPI index as pip and uv resolve it: `PIP_INDEX_URL`, then `UV_DEFAULT_INDEX` and
//! `UV_INDEX_URL`, then pip's configuration files (`PIP_CONFIG_FILE`, the user's
//! `pip/pip.conf` under `XDG_CONFIG_HOME` or `~/.config`, the legacy `~/.pip/pip.conf`, then
//! `/etc/xdg/pip/pip.conf` and `/etc/pip.conf`; `[install]` before `[global]` `index-url`),
//! then uv's (`UV_CONFIG_FILE`, else `uv/uv.toml` under the user's configuration folder, then
//! `/etc/uv/uv.toml`: the `[[index]]` marked `default = true`, else `index-url`). Default: the
//! public PyPI.
//!
//! pip and uv name a Simple-API index (`https://host/path/simple`); the checks read the JSON
//! API (`{base}/pypi/{name}/json`), whose base is the index URL without `/simple` (true of
//! PyPI, its mirrors and Artifactory/Nexus proxies). An index URL that does not end in
//! `/simple` leaves the base unknown.

use camino::Utf8PathBuf;

use super::{Endpoint, Machine, Origin, PYPI, http_url, ini_lines};

const KEY: &str = "pypi";

/// The PyPI JSON API base of this machine.
pub(super) fn index(machine: Machine<'_>) -> Endpoint {
    for var in ["PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL"] {
        if let Some(url) = machine.env.get(var).filter(|v| !v.trim().is_empty()) {
            return json_base(url, Origin::Env(var));
        }
    }
    if let Some((url, origin)) = pip_conf(machine) {
        return json_base(&url, origin);
    }
    if let Some((url, origin)) = uv_toml(machine) {
        return json_base(&url, origin);
    }
    Endpoint::found(KEY, PYPI, Origin::Default)
}

/// pip's `index-url`, from its files in pip's order (the last file loaded wins, so they are
/// searched from the last).
fn pip_conf(machine: Machine<'_>) -> Option<(String, Origin)> {
    let explicit = machine.env.get("PIP_CONFIG_FILE").filter(|v| !v.is_empty());
    // pip's way to load no configuration file at all.
    if explicit == Some("/dev/null") || explicit == Some("os.devnull") {
        return None;
    }
    let mut files: Vec<Utf8PathBuf> = explicit.map(Utf8PathBuf::from).into_iter().collect();
    files.extend(machine.config_home().map(|c| c.join("pip").join("pip.conf")));
    files.extend(machine.home().map(|h| h.join(".pip").join("pip.conf")));
    files.push(machine.system_file("etc/xdg/pip/pip.conf"));
    files.push(machine.system_file("etc/pip.conf"));
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let lines = ini_lines(&text);
        for section in ["install", "global"] {
            let found = lines.iter().rev().find(|(s, k, _, _)| s == section && (k == "index-url" || k == "index_url"));
            if let Some((s, k, value, line)) = found {
                return Some((value.clone(), Origin::File { path, line: Some(*line), key: format!("[{s}] {k}") }));
            }
        }
    }
    None
}

/// uv's default index, from its files: the user's, then the system's.
fn uv_toml(machine: Machine<'_>) -> Option<(String, Origin)> {
    let files: Vec<Utf8PathBuf> = match machine.env.get("UV_CONFIG_FILE").filter(|v| !v.is_empty()) {
        Some(file) => vec![file.into()],
        None => machine
            .config_home()
            .map(|c| c.join("uv").join("uv.toml"))
            .into_iter()
            .chain([machine.system_file("etc/uv/uv.toml")])
            .collect(),
    };
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let Ok(table) = text.parse::<toml::Table>() else { continue };
        let default_index = table.get("index").and_then(|i| i.as_array()).and_then(|indexes| {
            indexes.iter().find(|i| i.get("default").and_then(|d| d.as_bool()) == Some(true))?.get("url")?.as_str()
        });
        if let Some(url) = default_index {
            return Some((url.to_string(), Origin::File { path, line: None, key: "[[index]] default = true".into() }));
        }
        if let Some(url) = table.get("index-url").and_then(|u| u.as_str()) {
            return Some((url.to_string(), Origin::File { path, line: None, key: "index-url".into() }));
        }
    }
    None
}

/// The JSON API base of a Simple-API index URL: without its `/simple` (and trailing `/`).
fn json_base(index: &str, origin: Origin) -> Endpoint {
    let url = match http_url(index) {
        Ok(url) => url.trim_end_matches('/'),
        Err(why) => return Endpoint::unusable(KEY, origin, why),
    };
    match url.strip_suffix("/simple") {
        Some(base) => Endpoint::found(KEY, base, origin),
        None => Endpoint::unusable(
            KEY,
            origin,
            format!("the index `{index}` is not a `.../simple` URL, so where its JSON API lives is not known"),
        ),
    }
}
