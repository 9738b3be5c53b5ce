//! Reading the policy: TOML with spans, so every error names the file and the line, then the
//! checks that turn the raw text into the typed [`Policy`].

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;
use toml::Spanned;

use super::{
    ArtifactsPolicy, BenchPolicy, BlockersPolicy, BuildPolicy, ChangelogPolicy, Channels, Endpoints, FieldPath,
    GatePolicy, HOMEBREW_FOLDERS, NoticesPolicy, NpmPlatformsPolicy, PathPattern, Policy, Project, ReleasePolicy,
    SmokePolicy, Surface, SurfaceKind, TargetsPolicy, ToolchainPolicy, Tracker, WorkflowPolicy,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    project: Project,
    #[serde(default)]
    version: Vec<Spanned<RawSurface>>,
    changelog: Option<ChangelogPolicy>,
    targets: Option<TargetsPolicy>,
    #[serde(default)]
    channel: Channels,
    ci: Option<WorkflowPolicy>,
    build: Option<BuildPolicy>,
    #[serde(default)]
    gate: Vec<Spanned<RawGate>>,
    bench: Option<RawBench>,
    #[serde(default)]
    notices: NoticesPolicy,
    #[serde(default)]
    blockers: BlockersPolicy,
    #[serde(default)]
    endpoints: Endpoints,
    toolchain: Option<ToolchainPolicy>,
    #[serde(default)]
    smoke: SmokePolicy,
    #[serde(default)]
    artifacts: ArtifactsPolicy,
    npm_platforms: Option<NpmPlatformsPolicy>,
    #[serde(default)]
    release: ReleasePolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurface {
    file: Utf8PathBuf,
    field: Option<String>,
    package: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    id: String,
    run: Vec<String>,
    #[serde(default)]
    when_changed: Vec<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    waivable: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBench {
    build: Vec<String>,
    run: Vec<String>,
    benches: Vec<String>,
    #[serde(default)]
    min_blocking_base_ms: BTreeMap<String, Spanned<f64>>,
}

/// The paths in the repository that the policy names, besides the `[[version]]` files, each
/// with its key.
fn repo_paths<'a>(
    changelog: &'a Option<ChangelogPolicy>,
    targets: &'a Option<TargetsPolicy>,
    toolchain: &'a Option<ToolchainPolicy>,
    notices: &'a NoticesPolicy,
    npm_platforms: &'a Option<NpmPlatformsPolicy>,
) -> Vec<(&'static str, &'a Utf8PathBuf)> {
    let mut paths = Vec::new();
    paths.extend(changelog.as_ref().map(|c| ("changelog.file", &c.file)));
    paths.extend(targets.as_ref().map(|t| ("targets.manifest", &t.manifest)));
    paths.extend(toolchain.as_ref().map(|t| ("toolchain.file", &t.file)));
    paths.extend(notices.files.iter().map(|f| ("notices.files", f)));
    paths.extend(notices.copies.iter().map(|f| ("notices.copies", f)));
    paths.extend(notices.search.iter().map(|s| ("notices.search", &s.dir)));
    if let Some(n) = npm_platforms {
        paths.push(("npm_platforms.package_json", &n.package_json));
        paths.extend(n.workflows.iter().map(|w| ("npm_platforms.workflows", w)));
    }
    paths
}

impl Policy {
    /// [`Policy::load`], then checks that every path the policy names resolves inside the
    /// repository at `root` once symlinks are followed: a link that leaves it is an error naming
    /// the key and the policy's file and line.
    pub fn load_in(root: &Utf8Path, path: &Utf8Path, shown: &Utf8Path) -> anyhow::Result<Policy> {
        let text = read_policy(path, shown)?;
        let policy = Policy::parse(shown, &text)?;
        let real_root = root.canonicalize_utf8().with_context(|| format!("cannot resolve {root}"))?;
        let line_of = |key: &str| text.lines().position(|l| l.trim_start().starts_with(key)).map_or(0, |i| i + 1);
        let mut named: Vec<(String, &Utf8Path, usize)> =
            policy.surfaces.iter().map(|s| ("version.file".to_string(), s.file.as_path(), s.policy_line)).collect();
        for (key, relative) in
            repo_paths(&policy.changelog, &policy.targets, &policy.toolchain, &policy.notices, &policy.npm_platforms)
        {
            let short = key.rsplit('.').next().unwrap_or(key);
            named.push((key.to_string(), relative.as_path(), line_of(short)));
        }
        for (key, relative, line) in named {
            if let Some(real) = escapes(&real_root, relative) {
                let message = format!(
                    "{shown}:{line}: {key} = `{relative}` resolves to {real}, outside the repository {real_root} (through a symlink)"
                );
                let line = (line > 0).then_some(line);
                return Err(ConfigError { file: shown.to_owned(), line, message }.into());
            }
        }
        Ok(policy)
    }

    /// Reads and validates the policy file at `path`; messages name it as `shown` (the path
    /// relative to the repository root, like every other file the checks name).
    pub fn load(path: &Utf8Path, shown: &Utf8Path) -> anyhow::Result<Policy> {
        let text = read_policy(path, shown)?;
        Policy::parse(shown, &text)
    }

    /// Parses and validates policy text; `path` is used in messages only. An error is a
    /// `ConfigError`: the message as before, and the file and line it names as data.
    pub fn parse(path: &Utf8Path, text: &str) -> anyhow::Result<Policy> {
        let named = std::cell::Cell::new(None);
        Policy::parse_noting(path, text, &named).map_err(|e| {
            anyhow::Error::new(ConfigError { file: path.to_owned(), line: named.get(), message: format!("{e:#}") })
        })
    }

    /// [`Policy::parse`]; every line an error message names is also put in `named` as the
    /// message is made (errors only: the locations are computed lazily), so the caller has it
    /// as a number rather than by reading the message back.
    fn parse_noting(path: &Utf8Path, text: &str, named: &std::cell::Cell<Option<usize>>) -> anyhow::Result<Policy> {
        let note = |line: usize| {
            named.set(Some(line));
            line
        };
        let at = |span: Option<std::ops::Range<usize>>| match span {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("{path}:{}:{col}", note(line))
            }
            None => path.to_string(),
        };
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}: {}", at(e.span()), e.message().trim_end()))?;

        let mut surfaces = Vec::new();
        for entry in raw.version {
            let line = line_col(text, entry.span().start).0;
            let surface = surface(entry.into_inner(), line)
                .with_context(|| format!("{path}:{}: invalid [[version]] entry", note(line)))?;
            surfaces.push(surface);
        }

        let mut gates: Vec<GatePolicy> = Vec::new();
        for entry in raw.gate {
            let line = line_col(text, entry.span().start).0;
            let gate =
                gate(entry.into_inner(), line, &gates).map_err(|e| anyhow::anyhow!("{path}:{}: {e:#}", note(line)))?;
            gates.push(gate);
        }

        let field_at = |key: &str| {
            let line = text.lines().position(|l| l.trim_start().starts_with(key)).map(|i| i + 1);
            match line {
                Some(line) => format!("{path}:{}", note(line)),
                None => path.to_string(),
            }
        };
        if raw.project.name.trim().is_empty() {
            bail!("{}: project.name must not be empty", field_at("name"));
        }
        if let Some(github) = &raw.project.github {
            check_owner_repo(github).with_context(|| format!("{}: project.github", field_at("github")))?;
        }
        if raw.blockers.tracker == Tracker::Github && raw.project.github.is_none() {
            bail!(
                "{}: blockers.tracker = \"github\" files issues in `[project] github = \"owner/repo\"`, which is not set",
                field_at("tracker")
            );
        }
        if let Some(homebrew) = &raw.channel.homebrew {
            check_owner_repo(&homebrew.tap).with_context(|| format!("{}: channel.homebrew.tap", field_at("tap")))?;
            for (key, value) in [("desc", &homebrew.desc), ("license", &homebrew.license)] {
                if let Some(value) = value
                    && (value.trim().is_empty() || value.contains(['\n', '\r']))
                {
                    bail!("{}: channel.homebrew.{key} must be one non-empty line, got `{value}`", field_at(key));
                }
            }
            for (key, list) in [
                ("install", &homebrew.install),
                ("install_darwin", &homebrew.install_darwin),
                ("install_linux", &homebrew.install_linux),
            ] {
                for entry in list {
                    check_install(entry).with_context(|| format!("{}: channel.homebrew.{key}", field_at(key)))?;
                }
            }
            let bad_homepage = |h: &String| {
                !(h.starts_with("https://") || h.starts_with("http://")) || h.contains(['"', '\\', '#', '\n', ' '])
            };
            if homebrew.homepage.as_ref().is_some_and(bad_homepage) {
                bail!(
                    "{}: channel.homebrew.homepage must be one http(s) URL without quotes, `#`, `\\` or spaces",
                    field_at("homepage")
                );
            }
        }
        if let Some(github) = &raw.channel.github
            && !github.asset.contains("{version}")
        {
            bail!("{}: channel.github.asset must contain {{version}}", field_at("asset"));
        }
        raw.endpoints.check(field_at)?;
        for (key, relative) in
            repo_paths(&raw.changelog, &raw.targets, &raw.toolchain, &raw.notices, &raw.npm_platforms)
        {
            let short = key.rsplit('.').next().unwrap_or(key);
            check_relative(relative).with_context(|| format!("{}: {key}", field_at(short)))?;
        }
        for (key, workflow) in [
            ("ci.workflow", raw.ci.as_ref().map(|c| &c.workflow)),
            ("build.workflow", raw.build.as_ref().map(|b| &b.workflow)),
            ("release.publish_workflow", raw.release.publish_workflow.as_ref()),
        ] {
            if let Some(name) = workflow
                && (name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.'))
            {
                bail!("{}: {key} must be a file name under .github/workflows/, got `{name}`", field_at("workflow"));
            }
        }
        for name in raw.release.secrets.iter().chain(&raw.release.live_secrets).chain(&raw.release.pins) {
            let good = name.bytes().next().is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
                && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !good {
                bail!(
                    "{}: release: `{name}` is not a secret or variable name (A-Z, 0-9 and _, not starting with a digit)",
                    field_at("[release]")
                );
            }
        }
        for module in &raw.release.nested_modules {
            check_relative(module)
                .with_context(|| format!("{}: release.nested_modules", field_at("nested_modules")))?;
        }
        if raw.release.remote.trim().is_empty() || raw.release.remote.starts_with('-') {
            bail!("{}: release.remote must name a git remote, got `{}`", field_at("remote"), raw.release.remote);
        }
        if let Some(bin) = &raw.smoke.bin
            && (bin.trim().is_empty() || bin.contains(['/', '\\']) || bin != bin.trim())
        {
            bail!(
                "{}: smoke.bin must be an executable's name, not empty and without `/`, got `{bin}`",
                field_at("bin")
            );
        }
        if raw.notices.files.is_empty() {
            bail!("{}: notices.files must list at least one file", field_at("files"));
        }
        for search in &raw.notices.search {
            if search.depth == 0 {
                bail!("{}: notices.search: depth of `{}` must be at least 1", field_at("search"), search.dir);
            }
            if let Some(ext) = &search.extension
                && !ARCHIVE_EXTENSIONS.contains(&ext.as_str())
            {
                bail!(
                    "{}: notices.search: extension `{ext}` of `{}` is not one of {}",
                    field_at("search"),
                    search.dir,
                    ARCHIVE_EXTENSIONS.join(", ")
                );
            }
        }
        check_artifacts(&raw.artifacts, text).map_err(|e| anyhow::anyhow!("{path}:{e:#}"))?;
        let bench = match raw.bench {
            Some(raw) => Some(bench(raw, text).map_err(|e| anyhow::anyhow!("{path}:{e:#}"))?),
            None => None,
        };

        Ok(Policy {
            path: path.to_owned(),
            project: raw.project,
            surfaces,
            changelog: raw.changelog,
            targets: raw.targets,
            channels: raw.channel,
            ci: raw.ci,
            build: raw.build,
            gates,
            bench,
            notices: raw.notices,
            blockers: raw.blockers,
            endpoints: raw.endpoints,
            toolchain: raw.toolchain,
            smoke: raw.smoke,
            artifacts: raw.artifacts,
            npm_platforms: raw.npm_platforms,
            release: raw.release,
        })
    }
}

/// The policy's text; an error names the file (as data too: `ConfigError`).
fn read_policy(path: &Utf8Path, shown: &Utf8Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        let message = format!("cannot read policy {shown}: {e}");
        anyhow::Error::new(ConfigError { file: shown.to_owned(), line: None, message })
    })
}

/// A policy (or another file the tool reads as configuration: the changelog's headings, the
/// targets manifest's JSON) that cannot be used: what people read (naming the file and line,
/// as every message of the loader does) and, as data, the file and the line, for
/// `::error file=,line=` annotations and the JSON error object.
#[derive(Debug)]
// The command line reads `file` and `line`; without it only the message is used.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub struct ConfigError {
    /// The policy file, as messages name it (relative to the repository root).
    pub file: Utf8PathBuf,
    /// The 1-based line the message names, when it names one.
    pub line: Option<usize>,
    /// The whole message, location included.
    message: String,
}

impl ConfigError {
    /// An error about `line` of `file` (or the whole file); `message` is what people read and
    /// already names both.
    pub fn at(file: impl Into<Utf8PathBuf>, line: Option<usize>, message: String) -> anyhow::Error {
        anyhow::Error::new(ConfigError { file: file.into(), line, message })
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The archive kinds the notices check reads, as `[notices] search` extensions.
const ARCHIVE_EXTENSIONS: [&str; 4] = ["tar.gz", "tgz", "whl", "crate"];

/// A `[[gate]]` entry checked and typed; `before` are the gates read so far (ids are unique).
fn gate(raw: RawGate, policy_line: usize, before: &[GatePolicy]) -> anyhow::Result<GatePolicy> {
    let id = raw.id;
    if id.trim().is_empty() || id.contains(char::is_whitespace) {
        bail!("gate id `{id}` must be non-empty and have no spaces");
    }
    if before.iter().any(|g| g.id == id) {
        bail!("gate id `{id}` is used twice");
    }
    if raw.run.first().is_none_or(|p| p.trim().is_empty()) {
        bail!("gate `{id}` has an empty `run`");
    }
    let when_changed = raw
        .when_changed
        .iter()
        .map(|g| PathPattern::parse(g))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|_| anyhow::anyhow!("gate `{id}` has an empty `when_changed` glob"))?;
    let timeout = match raw.timeout.as_deref().map(crate::duration::parse) {
        Some(Err(e)) => bail!("gate `{id}`: timeout: {e:#}"),
        Some(Ok(limit)) => Some(limit),
        None => None,
    };
    Ok(GatePolicy {
        id,
        run: raw.run,
        when_changed,
        timeout,
        requires: raw.requires,
        description: raw.description,
        waivable: raw.waivable.unwrap_or(true),
        policy_line,
    })
}

/// `[bench]` checked and typed; an error starts with the line (the caller adds the file).
fn bench(raw: RawBench, text: &str) -> anyhow::Result<BenchPolicy> {
    let mut floors = BTreeMap::new();
    for (name, floor) in raw.min_blocking_base_ms {
        let line = line_col(text, floor.span().start).0;
        let floor = *floor.get_ref();
        if !raw.benches.contains(&name) {
            bail!(
                "{line}: bench.min_blocking_base_ms names `{name}`, which is not in bench.benches ({})",
                raw.benches.join(", ")
            );
        }
        if !floor.is_finite() || floor < 0.0 {
            bail!("{line}: bench.min_blocking_base_ms.{name} must be a finite number >= 0, got {floor}");
        }
        floors.insert(name, floor);
    }
    Ok(BenchPolicy { build: raw.build, run: raw.run, benches: raw.benches, min_blocking_base_ms: floors })
}

/// `[artifacts.<kind>]`: every member a relative path inside the archive, named once per kind;
/// an error starts with the line of the offending entry (the caller adds the file).
fn check_artifacts(artifacts: &ArtifactsPolicy, text: &str) -> anyhow::Result<()> {
    let kinds = [
        ("sdk", &artifacts.sdk),
        ("sdist", &artifacts.sdist),
        ("wheel", &artifacts.wheel),
        ("npm", &artifacts.npm),
        ("crate", &artifacts.crate_file),
    ];
    for (kind, members) in kinds {
        let Some(members) = members else { continue };
        let header = format!("[artifacts.{kind}]");
        let start = text.lines().position(|l| l.trim() == header).unwrap_or(0);
        let mut seen: Vec<&str> = Vec::new();
        for (key, list) in members.lists() {
            for member in list {
                let line = text
                    .lines()
                    .enumerate()
                    .skip(start)
                    .find(|(_, l)| l.contains(&format!("\"{member}\"")))
                    .map_or(start + 1, |(i, _)| i + 1);
                let bad = member.is_empty()
                    || member.starts_with('/')
                    || member.ends_with('/')
                    || member.contains('\\')
                    || member.split('/').any(|p| p.is_empty() || p == "." || p == "..");
                if bad {
                    bail!(
                        "{line}: artifacts.{kind}.{key}: `{member}` must be a file path inside the archive (`bin/tool`), without `.`, `..`, `\\` or empty parts"
                    );
                }
                if seen.contains(&member.as_str()) {
                    bail!("{line}: artifacts.{kind}.{key}: `{member}` is listed twice for one kind");
                }
                seen.push(member);
            }
        }
    }
    Ok(())
}

/// An `install` path of `[channel.homebrew]`: inside the archive, under a Homebrew folder.
fn check_install(entry: &str) -> anyhow::Result<()> {
    let path = Utf8Path::new(entry);
    check_relative(path)?;
    let mut parts = entry.split('/');
    let first = parts.next().unwrap_or_default();
    if !HOMEBREW_FOLDERS.contains(&first) || parts.any(|p| p.is_empty() || p == ".") || !entry.contains('/') {
        bail!(
            "`{entry}` must be a file under one of the Homebrew folders {} (`bin/<name>`)",
            HOMEBREW_FOLDERS.join(", ")
        );
    }
    if entry.contains(['"', '\\', '#']) {
        bail!("`{entry}` may not contain `\"`, `\\` or `#`");
    }
    Ok(())
}

fn surface(raw: RawSurface, policy_line: usize) -> anyhow::Result<Surface> {
    check_relative(&raw.file)?;
    let is_lock = raw.file.file_name() == Some("Cargo.lock");
    let kind = match (raw.field, raw.package) {
        (Some(_), Some(_)) => bail!("give either `field` or `package`, not both"),
        (None, None) => bail!("`{}` needs `field` (TOML/JSON key path) or `package` (Cargo.lock entry)", raw.file),
        (None, Some(package)) if is_lock => {
            if package.trim().is_empty() {
                bail!("`package` must not be empty");
            }
            SurfaceKind::CargoLock { package }
        }
        (None, Some(_)) => bail!("`package` is only for Cargo.lock files, not `{}`", raw.file),
        (Some(_), None) if is_lock => bail!("Cargo.lock takes `package = \"<name>\"`, not `field`"),
        (Some(field), None) => {
            let path = FieldPath::parse(&field)?;
            match raw.file.extension() {
                Some("toml") => SurfaceKind::Toml(path),
                Some("json") => SurfaceKind::Json(path),
                _ => bail!("`{}`: only .toml, .json and Cargo.lock files are supported", raw.file),
            }
        }
    };
    Ok(Surface { file: raw.file, kind, policy_line })
}

fn check_relative(path: &Utf8Path) -> anyhow::Result<()> {
    let escapes = path.components().any(|c| matches!(c, camino::Utf8Component::ParentDir));
    if path.as_str().is_empty() || path.is_absolute() || escapes {
        bail!("`{path}` must be a path relative to the repository root, inside it");
    }
    Ok(())
}

/// Where `relative` really leads when that is outside `real_root`: the deepest part of it that
/// exists is resolved (symlinks followed) and the rest appended.
fn escapes(real_root: &Utf8Path, relative: &Utf8Path) -> Option<Utf8PathBuf> {
    let full = real_root.join(relative);
    let mut existing = full.as_path();
    let mut rest = Vec::new();
    let real = loop {
        if let Ok(real) = existing.canonicalize_utf8() {
            break real;
        }
        rest.push(existing.file_name()?.to_owned());
        existing = existing.parent()?;
    };
    let real = rest.iter().rev().fold(real, |path, part| path.join(part));
    (!real.starts_with(real_root)).then_some(real)
}

fn check_owner_repo(text: &str) -> anyhow::Result<()> {
    let ok = text.split_once('/').is_some_and(|(owner, repo)| {
        let part = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        part(owner) && part(repo)
    });
    if !ok {
        bail!("`{text}` is not of the form owner/repo");
    }
    Ok(())
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NoticeSearch;

    const GOOD: &str = r#"
[project]
name = "demo"
github = "acme/demo"

[[version]]
file = "Cargo.toml"
field = "package.version"

[[version]]
file = "node/package-lock.json"
field = 'packages."".version'

[[version]]
file = "Cargo.lock"
package = "demo"

[changelog]
file = "CHANGELOG.md"

[[gate]]
id = "test"
run = ["cargo", "test"]
when_changed = ["src/**"]
timeout = "10m"
"#;

    fn err(text: &str) -> String {
        format!("{:#}", Policy::parse(Utf8Path::new("release/policy.toml"), text).unwrap_err())
    }

    #[test]
    fn parses_the_sketch() {
        let p = Policy::parse(Utf8Path::new("p.toml"), GOOD).unwrap();
        assert_eq!(p.surfaces.len(), 3);
        assert_eq!(
            p.surfaces[1].kind,
            SurfaceKind::Json(FieldPath(vec!["packages".into(), "".into(), "version".into()]))
        );
        assert_eq!(p.surfaces[1].location(), r#"packages."".version"#);
        assert_eq!(p.surfaces[2].kind, SurfaceKind::CargoLock { package: "demo".into() });
        assert_eq!(p.surfaces[0].policy_line, 6);
        assert_eq!(p.gates[0].policy_line, 21);
        assert_eq!(p.blockers.tracker, Tracker::None);
    }

    #[test]
    fn the_github_tracker_needs_the_repository() {
        let e = err("[project]\nname = \"x\"\n\n[blockers]\ntracker = \"github\"\n");
        assert!(e.starts_with("release/policy.toml:5:") && e.contains("[project] github"), "{e}");
        let with_repo = "[project]\nname = \"x\"\ngithub = \"o/r\"\n\n[blockers]\ntracker = \"github\"\n";
        assert_eq!(Policy::parse(Utf8Path::new("p.toml"), with_repo).unwrap().blockers.tracker, Tracker::Github);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let e = err("[project]\nname = \"x\"\nnmae = \"y\"\n");
        assert!(e.starts_with("release/policy.toml:3:1:"), "{e}");
        assert!(e.contains("nmae"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_line() {
        let e = err("[project]\nname = \"x\"\n\n[[version]]\nfile = \"a.toml\"\nfield = \"a\"\npackage = \"b\"\n");
        assert!(e.starts_with("release/policy.toml:4:"), "{e}");
        assert!(e.contains("not both"), "{e}");
        let e = err("[project]\nname = \"x\"\n[[gate]]\nid = \"a\"\nrun = []\n");
        assert!(e.starts_with("release/policy.toml:3:") && e.contains("empty `run`"), "{e}");
        let e =
            err("[project]\nname = \"x\"\n[[gate]]\nid = \"a\"\nrun = [\"x\"]\n[[gate]]\nid = \"a\"\nrun = [\"y\"]\n");
        assert!(e.starts_with("release/policy.toml:6:") && e.contains("used twice"), "{e}");
    }

    #[test]
    fn notices_default_and_validate() {
        let p = Policy::parse(Utf8Path::new("p.toml"), GOOD).unwrap();
        assert_eq!(p.notices.files, [Utf8PathBuf::from("LICENSE"), Utf8PathBuf::from("THIRD_PARTY_NOTICES.md")]);
        assert!(p.notices.copies.is_empty());
        let with = format!("{GOOD}\n[notices]\ncopies = [\"bindings/python\"]\n");
        let p = Policy::parse(Utf8Path::new("p.toml"), &with).unwrap();
        assert_eq!(p.notices.copies, [Utf8PathBuf::from("bindings/python")]);
        assert_eq!(p.notices.files.len(), 2);
        assert!(err(&format!("{GOOD}\n[notices]\nfiles = []\n")).contains("at least one file"));
        assert!(err(&format!("{GOOD}\n[notices]\nfiles = [\"../LICENSE\"]\n")).contains("inside it"));
        assert!(err(&format!("{GOOD}\n[notices]\nfile = [\"LICENSE\"]\n")).contains("file"));
    }

    #[test]
    fn smoke_bin_defaults_and_validates() {
        let p = Policy::parse(Utf8Path::new("p.toml"), GOOD).unwrap();
        assert_eq!(p.smoke.bin, None);
        let p = Policy::parse(Utf8Path::new("p.toml"), &format!("{GOOD}\n[smoke]\nbin = \"demo-cli\"\n")).unwrap();
        assert_eq!(p.smoke.bin.as_deref(), Some("demo-cli"));
        assert!(err(&format!("{GOOD}\n[smoke]\nbin = \"bin/demo\"\n")).contains("smoke.bin"));
        assert!(err(&format!("{GOOD}\n[smoke]\nbin = \"\"\n")).contains("smoke.bin"));
        assert!(err(&format!("{GOOD}\n[smoke]\nbinary = \"x\"\n")).contains("binary"));
    }

    #[test]
    fn gate_values_are_typed_on_load() {
        let p = Policy::parse(Utf8Path::new("p.toml"), GOOD).unwrap();
        assert_eq!(p.gates[0].timeout, Some(std::time::Duration::from_secs(600)));
        assert_eq!(p.gates[0].when_changed, [PathPattern::parse("src/**").unwrap()]);
        assert!(p.gates[0].when_changed[0].matches("src/a/b.rs") && !p.gates[0].when_changed[0].matches("docs/a.md"));
        let e = err(&GOOD.replace("timeout = \"10m\"", "timeout = \"ten minutes\""));
        assert!(e.starts_with("release/policy.toml:21:") && e.contains("ten minutes"), "{e}");
        let e = err(&GOOD.replace("when_changed = [\"src/**\"]", "when_changed = [\" \"]"));
        assert!(e.starts_with("release/policy.toml:21:") && e.contains("empty `when_changed` glob"), "{e}");
    }

    const BENCH: &str = "\n[bench]\nbuild = [\"make\"]\nrun = [\"./bench\"]\nbenches = [\"append\", \"get_scan\"]\n";

    #[test]
    fn bench_floors_are_per_bench_and_checked() {
        let p = Policy::parse(Utf8Path::new("p.toml"), &format!("{GOOD}{BENCH}")).unwrap();
        assert!(p.bench.unwrap().min_blocking_base_ms.is_empty(), "no floor unless the policy sets one");
        let with = format!("{GOOD}{BENCH}min_blocking_base_ms = {{ get_scan = 0.2, append = 1 }}\n");
        let floors = Policy::parse(Utf8Path::new("p.toml"), &with).unwrap().bench.unwrap().min_blocking_base_ms;
        assert_eq!(floors, [("append".to_string(), 1.0), ("get_scan".to_string(), 0.2)].into());
        let line = GOOD.lines().count() + BENCH.lines().count() + 1;
        for (bad, says) in
            [("get_scan = -1", "finite number >= 0"), ("get_scan = inf", "finite"), ("scan = 0.2", "`scan`")]
        {
            let e = err(&format!("{GOOD}{BENCH}min_blocking_base_ms = {{ {bad} }}\n"));
            assert!(e.starts_with(&format!("release/policy.toml:{line}:")) && e.contains(says), "{bad}: {e}");
        }
        let e = err(&format!("{GOOD}{BENCH}min_blocking_base_ms = {{ get_scan = \"0.2\" }}\n"));
        assert!(e.starts_with(&format!("release/policy.toml:{line}:")), "{e}");
    }

    #[test]
    fn notice_search_defaults_to_dist_and_is_checked() {
        let p = Policy::parse(Utf8Path::new("p.toml"), GOOD).unwrap();
        assert_eq!(p.notices.search, [NoticeSearch { dir: "dist".into(), extension: None, depth: 1 }]);
        let with = format!(
            "{GOOD}\n[notices]\nsearch = [{{ dir = \"node\", extension = \"tgz\" }}, {{ dir = \"dl\", depth = 3 }}]\n"
        );
        let search = Policy::parse(Utf8Path::new("p.toml"), &with).unwrap().notices.search;
        assert_eq!(search[0], NoticeSearch { dir: "node".into(), extension: Some("tgz".into()), depth: 1 });
        assert_eq!(search[1].depth, 3);
        let line = GOOD.lines().count() + 3;
        let e = err(&format!("{GOOD}\n[notices]\nsearch = [{{ dir = \"node\", extension = \"zip\" }}]\n"));
        assert!(e.starts_with(&format!("release/policy.toml:{line}:")) && e.contains("`zip`"), "{e}");
        let e = err(&format!("{GOOD}\n[notices]\nsearch = [{{ dir = \"node\", depth = 0 }}]\n"));
        assert!(e.starts_with(&format!("release/policy.toml:{line}:")) && e.contains("at least 1"), "{e}");
        assert!(err(&format!("{GOOD}\n[notices]\nsearch = [{{ dir = \"../x\" }}]\n")).contains("inside it"));
    }

    #[test]
    fn homebrew_formula_values_are_checked() {
        let brew = "\n[channel.homebrew]\ntap = \"o/homebrew-tap\"\nformula = \"Formula/demo.rb\"\n";
        let p = Policy::parse(Utf8Path::new("p.toml"), &format!("{GOOD}{brew}")).unwrap();
        let h = p.channels.homebrew.unwrap();
        assert_eq!((&h.desc, &h.license, h.install.len(), h.formula_name()), (&None, &None, 0, Some("demo")));
        let good = format!(
            "{GOOD}{brew}desc = \"Demo tool\"\nlicense = \"MIT\"\ninstall = [\"bin/demo\", \"lib/pkgconfig/demo.pc\"]\n"
        );
        let h = Policy::parse(Utf8Path::new("p.toml"), &good).unwrap().channels.homebrew.unwrap();
        assert_eq!((h.desc.as_deref(), h.license.as_deref()), (Some("Demo tool"), Some("MIT")));
        let line = GOOD.lines().count() + brew.lines().count() + 1;
        for (bad, says) in [
            ("desc = \"\"", "channel.homebrew.desc"),
            ("license = \" \"", "channel.homebrew.license"),
            ("install = [\"demo\"]", "Homebrew folders"),
            ("install = [\"opt/demo\"]", "Homebrew folders"),
            ("install = [\"bin/../demo\"]", "inside it"),
            ("install = [\"bin/de\\\"mo\"]", "may not contain"),
            ("install_linux = [\"opt/libdemo.so\"]", "channel.homebrew.install_linux"),
            ("homepage = \"ftp://demo.example\"", "channel.homebrew.homepage"),
            ("homepage = \"https://demo.example/#{x}\"", "channel.homebrew.homepage"),
        ] {
            let e = err(&format!("{GOOD}{brew}{bad}\n"));
            assert!(e.starts_with(&format!("release/policy.toml:{line}:")) && e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn artifact_members_are_checked_with_their_line() {
        let sdk = "\n[artifacts.sdk]\nmembers = [\"bin/x\"]\nlinux = [\"lib/libx.so\"]\n";
        let p = Policy::parse(Utf8Path::new("p.toml"), &format!("{GOOD}{sdk}")).unwrap();
        let spec = p.artifacts.sdk.unwrap();
        assert_eq!((spec.members.len(), spec.linux.len(), spec.per_os()), (1, 1, true));
        let line = GOOD.lines().count() + 3;
        for (bad, says) in [
            ("members = [\"../x\"]", "must be a file path inside the archive"),
            ("members = [\"/bin/x\"]", "must be a file path"),
            ("members = [\"bin/\"]", "must be a file path"),
            ("darwin = [\"bin/x\", \"bin/x\"]", "listed twice"),
        ] {
            let e = err(&format!("{GOOD}\n[artifacts.sdk]\n{bad}\n"));
            assert!(e.starts_with(&format!("release/policy.toml:{line}:")) && e.contains(says), "{bad}: {e}");
        }
        assert!(err(&format!("{GOOD}\n[artifacts.zip]\nmembers = []\n")).contains("zip"));
        assert!(err(&format!("{GOOD}\n[npm_platforms]\npackage_json = \"../p.json\"\n")).contains("inside it"));
    }

    #[test]
    fn field_paths() {
        assert_eq!(FieldPath::parse("a.b").unwrap().segments(), ["a", "b"]);
        assert_eq!(FieldPath::parse(r#""a.b".c"#).unwrap().segments(), ["a.b", "c"]);
        for bad in ["", "a..b", "a.", ".a", r#""a"b"#, r#""a"#, "a b"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
