//! [`Policy`]: what differs between projects, read from `release/policy.toml`.
//!
//! Unknown keys are errors, and every error names the file and the line. The policy holds data
//! only; how a check works lives in the check's module. `docs/policy.md` is the reference.

use std::fmt;

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;
use toml::Spanned;

/// The conventional location of the policy, relative to the repository root.
pub const DEFAULT_PATH: &str = "release/policy.toml";

/// A validated release policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file it was read from (for messages).
    pub path: Utf8PathBuf,
    /// `[project]`.
    pub project: Project,
    /// `[[version]]`: the lockstep version surfaces, in policy order.
    pub surfaces: Vec<Surface>,
    /// `[changelog]`, when the project keeps one.
    pub changelog: Option<ChangelogPolicy>,
    /// `[targets]`, when the project has a native targets manifest.
    pub targets: Option<TargetsPolicy>,
    /// `[channel.*]`: where the release is published.
    pub channels: Channels,
    /// `[ci]`: the CI workflow whose success on the release commit is required.
    pub ci: Option<WorkflowPolicy>,
    /// `[build]`: the release build workflow and its metadata artifact.
    pub build: Option<BuildPolicy>,
    /// `[[gate]]`: command gates, in policy order.
    pub gates: Vec<GatePolicy>,
    /// `[bench]`: the performance gate.
    pub bench: Option<BenchPolicy>,
    /// `[notices]`: licence and notice files (defaults when the section is absent).
    pub notices: NoticesPolicy,
    /// `[blockers]`: where blockers are filed besides the evidence record.
    pub blockers: BlockersPolicy,
    /// `[endpoints]`: base URLs of the services the checks read.
    pub endpoints: Endpoints,
    /// `[toolchain]`: the Rust toolchain pin to keep consistent.
    pub toolchain: Option<ToolchainPolicy>,
    /// `[smoke]`: what the install smoke runs (defaults when the section is absent).
    pub smoke: SmokePolicy,
}

/// `[project]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// The project's name (used in messages and titles).
    pub name: String,
    /// `owner/repo` on GitHub; needed by the GitHub-backed checks only.
    #[serde(default)]
    pub github: Option<String>,
}

/// One lockstep version surface: a file and where in it the version lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surface {
    /// Path relative to the repository root.
    pub file: Utf8PathBuf,
    /// How to find the version inside the file.
    pub kind: SurfaceKind,
    /// Line of the `[[version]]` entry in the policy (for messages).
    pub policy_line: usize,
}

/// How a version is located inside a surface file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurfaceKind {
    /// A string field of a TOML file, by key path (`package.version`).
    Toml(FieldPath),
    /// A string field of a JSON file, by key path (`packages."".version`).
    Json(FieldPath),
    /// The `version` of the `[[package]]` entry with this name in a `Cargo.lock`.
    CargoLock {
        /// The package name.
        package: String,
    },
}

impl Surface {
    /// Human name of the location inside the file: `package.version`, `[[package]] plasmite`.
    pub fn location(&self) -> String {
        match &self.kind {
            SurfaceKind::Toml(path) | SurfaceKind::Json(path) => path.to_string(),
            SurfaceKind::CargoLock { package } => format!("[[package]] name = \"{package}\""),
        }
    }
}

/// A dotted key path; segments with dots, quotes or nothing in them are written quoted:
/// `packages."".version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// Parses `a.b."c.d".""`. Bare segments are `A-Za-z0-9_-`; quoted ones take anything but `"`.
    pub fn parse(text: &str) -> anyhow::Result<FieldPath> {
        let mut segments = Vec::new();
        let mut rest = text;
        loop {
            let (segment, after) = if let Some(quoted) = rest.strip_prefix('"') {
                let end = quoted.find('"').with_context(|| format!("unclosed quote in field path `{text}`"))?;
                (quoted[..end].to_string(), &quoted[end + 1..])
            } else {
                let end = rest.find('.').unwrap_or(rest.len());
                let bare = &rest[..end];
                if bare.is_empty() || !bare.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                    bail!("field path `{text}` has an empty or invalid segment `{bare}` (quote it: \"...\")");
                }
                (bare.to_string(), &rest[end..])
            };
            segments.push(segment);
            if after.is_empty() {
                return Ok(FieldPath(segments));
            }
            rest = after
                .strip_prefix('.')
                .with_context(|| format!("expected `.` after a quoted segment in field path `{text}`"))?;
        }
    }

    /// A path from segments already split (for messages about a prefix of a path).
    pub fn from_segments(segments: &[String]) -> FieldPath {
        FieldPath(segments.to_vec())
    }

    /// The segments, unquoted.
    pub fn segments(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            let bare =
                !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if bare { f.write_str(segment)? } else { write!(f, "\"{segment}\"")? }
        }
        Ok(())
    }
}

/// `[changelog]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangelogPolicy {
    /// Path of the Keep-a-Changelog file, relative to the root.
    pub file: Utf8PathBuf,
}

/// `[targets]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsPolicy {
    /// Path of the targets manifest (`release/targets.json`), relative to the root.
    pub manifest: Utf8PathBuf,
}

/// `[channel.*]`: each is optional; an absent channel is skipped by the checks, with that reason.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    /// crates.io.
    pub crates: Option<PackageChannel>,
    /// npm.
    pub npm: Option<PackageChannel>,
    /// PyPI.
    pub pypi: Option<PackageChannel>,
    /// GitHub release assets.
    pub github: Option<GithubChannel>,
    /// The Homebrew tap.
    pub homebrew: Option<HomebrewChannel>,
}

/// A registry channel: the package's name there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageChannel {
    /// Package name on the registry.
    pub package: String,
}

/// `[channel.github]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubChannel {
    /// SDK archive name template; `{version}` and `{sdk_platform}` are filled in.
    pub asset: String,
    /// Name of the checksum asset.
    #[serde(default = "default_sums")]
    pub sums: String,
}

fn default_sums() -> String {
    "sha256sums.txt".to_string()
}

/// `[channel.homebrew]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomebrewChannel {
    /// The tap repository, `owner/homebrew-tap`.
    pub tap: String,
    /// Path of the formula inside the tap.
    pub formula: String,
}

/// `[ci]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowPolicy {
    /// Workflow file name under `.github/workflows/` (`ci.yml`).
    pub workflow: String,
}

/// `[build]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildPolicy {
    /// Workflow file name of the release build (`release.yml`).
    pub workflow: String,
    /// Name of the artifact holding `metadata.json`.
    #[serde(default = "default_metadata_artifact")]
    pub metadata_artifact: String,
}

fn default_metadata_artifact() -> String {
    "release-metadata".to_string()
}

/// `[[gate]]`: a command gate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatePolicy {
    /// Unique id (`release-gate`, `audit`); used by `--only` and `--waive`.
    pub id: String,
    /// The program and its arguments, run without a shell in the repository root.
    pub run: Vec<String>,
    /// Globs; when given, the gate runs only if a matching file changed since the base tag.
    #[serde(default)]
    pub when_changed: Vec<String>,
    /// Time limit, e.g. `"30m"`, `"90s"`; past it the gate fails.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Tools that must be on PATH; a missing one makes the gate incomplete.
    #[serde(default)]
    pub requires: Vec<String>,
    /// One line saying what the gate proves.
    #[serde(default)]
    pub description: Option<String>,
    /// Line of the entry in the policy (filled in on load).
    #[serde(skip)]
    pub policy_line: usize,
}

/// `[bench]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchPolicy {
    /// Command that builds the bench program.
    pub build: Vec<String>,
    /// Command that runs it; `{messages}` is filled in.
    pub run: Vec<String>,
    /// Bench names whose scenarios are compared (the core ones).
    pub benches: Vec<String>,
}

/// `[notices]`: the licence and notice files every release carries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticesPolicy {
    /// Files at the repository root that must exist and must be inside every release archive
    /// [default: `LICENSE`, `THIRD_PARTY_NOTICES.md`].
    #[serde(default = "default_notice_files")]
    pub files: Vec<Utf8PathBuf>,
    /// Folders holding copies of those files that must stay byte-identical to the root ones
    /// (`bindings/python`) [default: none].
    #[serde(default)]
    pub copies: Vec<Utf8PathBuf>,
}

impl Default for NoticesPolicy {
    fn default() -> NoticesPolicy {
        NoticesPolicy { files: default_notice_files(), copies: Vec::new() }
    }
}

fn default_notice_files() -> Vec<Utf8PathBuf> {
    vec!["LICENSE".into(), "THIRD_PARTY_NOTICES.md".into()]
}

/// `[blockers]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockersPolicy {
    /// Where blockers are filed besides the evidence record.
    #[serde(default)]
    pub tracker: Tracker,
    /// The ergo executable, for `tracker = "ergo"` (default `ergo` on PATH).
    #[serde(default = "default_ergo")]
    pub ergo: String,
}

fn default_ergo() -> String {
    "ergo".to_string()
}

impl Default for BlockersPolicy {
    fn default() -> BlockersPolicy {
        BlockersPolicy { tracker: Tracker::None, ergo: default_ergo() }
    }
}

/// A blocker tracker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tracker {
    /// The ergo CLI.
    Ergo,
    /// GitHub issues with a `release-blocker` label.
    Github,
    /// Only the evidence record.
    #[default]
    None,
}

/// `[endpoints]`: base URLs. GitHub has public defaults; package registries are named here by
/// the project (see docs/policy.md), and tests point every one of them at a fake server.
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

/// `[toolchain]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolchainPolicy {
    /// The pinned toolchain file (`rust-toolchain.toml`).
    pub file: Utf8PathBuf,
    /// Workflow files whose `RELEASE_RUST_TOOLCHAIN`-style pins must agree with it.
    #[serde(default)]
    pub workflows: Vec<Utf8PathBuf>,
}

/// `[smoke]`: the install smoke after a release.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokePolicy {
    /// Name of the executable every channel installs (`plasmite`) [default: `project.name`].
    #[serde(default)]
    pub bin: Option<String>,
}

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
    gate: Vec<Spanned<GatePolicy>>,
    bench: Option<BenchPolicy>,
    #[serde(default)]
    notices: NoticesPolicy,
    #[serde(default)]
    blockers: BlockersPolicy,
    #[serde(default)]
    endpoints: Endpoints,
    toolchain: Option<ToolchainPolicy>,
    #[serde(default)]
    smoke: SmokePolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurface {
    file: Utf8PathBuf,
    field: Option<String>,
    package: Option<String>,
}

impl Policy {
    /// Reads and validates the policy file at `path`; messages name it as `shown` (the path
    /// relative to the repository root, like every other file the checks name).
    pub fn load(path: &Utf8Path, shown: &Utf8Path) -> anyhow::Result<Policy> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read policy {shown}"))?;
        Policy::parse(shown, &text)
    }

    /// Parses and validates policy text; `path` is used in messages only.
    pub fn parse(path: &Utf8Path, text: &str) -> anyhow::Result<Policy> {
        let at = |span: Option<std::ops::Range<usize>>| match span {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("{path}:{line}:{col}")
            }
            None => path.to_string(),
        };
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}: {}", at(e.span()), e.message().trim_end()))?;

        let mut surfaces = Vec::new();
        for entry in raw.version {
            let line = line_col(text, entry.span().start).0;
            let surface = surface(entry.into_inner(), line)
                .with_context(|| format!("{path}:{line}: invalid [[version]] entry"))?;
            surfaces.push(surface);
        }

        let mut gates: Vec<GatePolicy> = Vec::new();
        for entry in raw.gate {
            let line = line_col(text, entry.span().start).0;
            let mut gate = entry.into_inner();
            gate.policy_line = line;
            let problem = if gate.id.trim().is_empty() || gate.id.contains(char::is_whitespace) {
                Some(format!("gate id `{}` must be non-empty and have no spaces", gate.id))
            } else if gates.iter().any(|g| g.id == gate.id) {
                Some(format!("gate id `{}` is used twice", gate.id))
            } else if gate.run.first().is_none_or(|p| p.trim().is_empty()) {
                Some(format!("gate `{}` has an empty `run`", gate.id))
            } else if gate.when_changed.iter().any(|g| g.trim().is_empty()) {
                Some(format!("gate `{}` has an empty `when_changed` glob", gate.id))
            } else if let Some(Err(e)) = gate.timeout.as_deref().map(crate::duration::parse) {
                Some(format!("gate `{}`: timeout: {e:#}", gate.id))
            } else {
                None
            };
            if let Some(problem) = problem {
                bail!("{path}:{line}: {problem}");
            }
            gates.push(gate);
        }

        let field_at = |key: &str| {
            let line = text.lines().position(|l| l.trim_start().starts_with(key)).map(|i| i + 1);
            match line {
                Some(line) => format!("{path}:{line}"),
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
        }
        if let Some(github) = &raw.channel.github
            && !github.asset.contains("{version}")
        {
            bail!("{}: channel.github.asset must contain {{version}}", field_at("asset"));
        }
        for (name, url) in [
            ("crates_index", &raw.endpoints.crates_index),
            ("crates_download", &raw.endpoints.crates_download),
            ("npm", &raw.endpoints.npm),
            ("pypi", &raw.endpoints.pypi),
            ("github_api", &raw.endpoints.github_api),
            ("github_web", &raw.endpoints.github_web),
        ] {
            if let Some(url) = url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                bail!("{}: endpoints.{name} must be an http(s) URL, got `{url}`", field_at(name));
            }
        }
        for relative in [
            raw.changelog.as_ref().map(|c| &c.file),
            raw.targets.as_ref().map(|t| &t.manifest),
            raw.toolchain.as_ref().map(|t| &t.file),
        ]
        .into_iter()
        .flatten()
        .chain(&raw.notices.files)
        .chain(&raw.notices.copies)
        {
            check_relative(relative).with_context(|| path.to_string())?;
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
            bench: raw.bench,
            notices: raw.notices,
            blockers: raw.blockers,
            endpoints: raw.endpoints,
            toolchain: raw.toolchain,
            smoke: raw.smoke,
        })
    }
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
