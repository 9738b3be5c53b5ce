//! The crates.io index as cargo resolves it: its configuration files in cargo's hierarchical
//! order (`.cargo/config.toml` in the repository and each folder above it, nearest first, then
//! `$CARGO_HOME/config.toml`), the first file that sets a key winning; `[source.crates-io]
//! replace-with = "name"` followed through `[source.name]` (or `[registries.name]`) to a
//! `registry`/`index` URL. Only a sparse registry (`sparse+https://...`) can be read over
//! HTTP; a git index or a vendored source leaves the index unresolved, naming the key.

use camino::{Utf8Path, Utf8PathBuf};

use super::{CRATES_INDEX, Endpoint, Machine, Origin, http_url};

const KEY: &str = "crates_index";

/// One configuration file, parsed.
struct ConfigFile {
    path: Utf8PathBuf,
    table: toml::Table,
}

/// cargo's configuration files, highest priority first. A file that cannot be read or parsed
/// is an error (cargo refuses to run with it too).
fn config_files(machine: Machine<'_>) -> Result<Vec<ConfigFile>, (Utf8PathBuf, String)> {
    let mut paths: Vec<Utf8PathBuf> = Vec::new();
    let mut dir = Some(machine.repo);
    while let Some(d) = dir {
        paths.extend(config_in(&d.join(".cargo")));
        dir = d.parent();
    }
    let cargo_home = match machine.env.get("CARGO_HOME").filter(|h| !h.is_empty()) {
        Some(home) => Some(Utf8PathBuf::from(home)),
        None => machine.home().map(|h| h.join(".cargo")),
    };
    if let Some(home) = cargo_home {
        // $CARGO_HOME may be one of the folders already walked (~/.cargo above the repository).
        if let Some(path) = config_in(&home)
            && !paths.contains(&path)
        {
            paths.push(path);
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| (path.clone(), format!("cannot read it: {e}")))?;
            let table = text.parse::<toml::Table>().map_err(|e| (path.clone(), format!("not valid TOML: {e}")))?;
            Ok(ConfigFile { path, table })
        })
        .collect()
}

/// The configuration file of one `.cargo` folder: `config.toml`, else the legacy `config`.
fn config_in(dir: &Utf8Path) -> Option<Utf8PathBuf> {
    ["config.toml", "config"].iter().map(|name| dir.join(name)).find(|p| p.is_file())
}

/// The string at `path` in the first file (by priority) that sets it, and that file.
fn lookup<'a>(files: &'a [ConfigFile], path: &[&str]) -> Option<(&'a str, &'a Utf8Path)> {
    files.iter().find_map(|f| {
        let mut value = f.table.get(path[0])?;
        for key in &path[1..] {
            value = value.get(key)?;
        }
        Some((value.as_str()?, f.path.as_path()))
    })
}

fn file_origin(path: &Utf8Path, key: String) -> Origin {
    Origin::File { path: path.to_path_buf(), line: None, key }
}

/// The crates index of this machine.
pub(super) fn index(machine: Machine<'_>) -> Endpoint {
    let files = match config_files(machine) {
        Ok(files) => files,
        Err((path, why)) => {
            return Endpoint::unusable(KEY, file_origin(&path, "cargo configuration".into()), why);
        }
    };
    let Some((mut name, mut at)) = lookup(&files, &["source", "crates-io", "replace-with"]) else {
        let protocol = machine
            .env
            .get("CARGO_REGISTRIES_CRATES_IO_PROTOCOL")
            .map(str::to_string)
            .or_else(|| lookup(&files, &["registries", "crates-io", "protocol"]).map(|(p, _)| p.to_string()));
        return match protocol.as_deref() {
            // cargo reads crates.io through git here; the sparse index holds the same data.
            Some("git") => Endpoint::found(
                KEY,
                CRATES_INDEX,
                Origin::Derived(
                    "default (cargo is set to the git protocol for crates.io; its sparse index holds the same data)"
                        .into(),
                ),
            ),
            _ => Endpoint::found(KEY, CRATES_INDEX, Origin::Default),
        };
    };
    let mut via = "source.crates-io.replace-with".to_string();
    // A replacement may itself be replaced; a cycle (or a very long chain) is refused.
    for _ in 0..8 {
        if let Some((next, next_at)) = lookup(&files, &["source", name, "replace-with"]) {
            via = format!("source.{name}.replace-with via {via}");
            (name, at) = (next, next_at);
            continue;
        }
        if let Some((url, at)) = lookup(&files, &["source", name, "registry"]) {
            return registry_url(url, file_origin(at, format!("source.{name}.registry via {via}")));
        }
        if let Some((url, at)) = lookup(&files, &["registries", name, "index"]) {
            return registry_url(url, file_origin(at, format!("registries.{name}.index via {via}")));
        }
        for kind in ["local-registry", "directory"] {
            if let Some((dir, at)) = lookup(&files, &["source", name, kind]) {
                return Endpoint::unusable(
                    KEY,
                    file_origin(at, format!("source.{name}.{kind} via {via}")),
                    format!("crates.io is replaced by vendored sources (`{dir}`), which hold no registry index"),
                );
            }
        }
        return Endpoint::unusable(
            KEY,
            file_origin(at, via),
            format!("crates.io is replaced by `{name}`, which no [source.{name}] or [registries.{name}] defines"),
        );
    }
    Endpoint::unusable(KEY, file_origin(at, via), "the chain of `replace-with` sources does not end".into())
}

/// A `registry`/`index` value: `sparse+URL` is read over HTTP; anything else is a git index.
fn registry_url(value: &str, origin: Origin) -> Endpoint {
    match value.strip_prefix("sparse+").map(http_url) {
        Some(Ok(url)) => Endpoint::found(KEY, url, origin),
        Some(Err(why)) => Endpoint::unusable(KEY, origin, why),
        None => Endpoint::unusable(
            KEY,
            origin,
            format!("`{value}` is a git index, which is not read over HTTP (only a `sparse+https://` registry is)"),
        ),
    }
}
