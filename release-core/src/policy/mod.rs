//! [`Policy`]: what differs between projects, read from `release/policy.toml`.
//!
//! Unknown keys are errors, and every error names the file and the line. The policy holds data
//! only; how a check works lives in the check's module. `docs/policy.md` is the reference.
//!
//! `load.rs` reads and validates the text; what it keeps is typed (a gate's timeout is a
//! [`Duration`], its triggers are [`PathPattern`]s), so no check parses a policy value again.
//! `endpoints.rs` holds the base URLs of the services the checks read ([`Endpoints`]).

mod endpoints;
mod glob;
mod load;

use std::{collections::BTreeMap, fmt, time::Duration};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;

pub use endpoints::Endpoints;
pub use load::ConfigError;
pub(crate) use load::line_col;

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
    /// `[artifacts.<kind>]`: the members every release archive of a kind must hold.
    pub artifacts: ArtifactsPolicy,
    /// `[npm_platforms]`: the files whose Node platform lists must equal the manifest's.
    pub npm_platforms: Option<NpmPlatformsPolicy>,
    /// `[release]`: the release mechanics (preflight, tag, publish); defaults when absent.
    pub release: ReleasePolicy,
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
    /// The formula's `desc` [default: `package.description` of the root `Cargo.toml`].
    #[serde(default)]
    pub desc: Option<String>,
    /// The formula's `license` [default: `package.license` of the root `Cargo.toml`].
    #[serde(default)]
    pub license: Option<String>,
    /// Paths inside the SDK archive the formula installs, each into the Homebrew folder of the
    /// same name (`bin/plasmite` -> `bin.install`, `lib/pkgconfig/x.pc` ->
    /// `(lib/"pkgconfig").install`); default: `bin/<formula name>`. Every `bin/` entry gets a
    /// `--version` line in the formula's test.
    #[serde(default)]
    pub install: Vec<String>,
    /// Installed only on macOS (`lib/libplasmite.dylib`), as `install` (bug 22: a Linux
    /// archive has no `.dylib`).
    #[serde(default)]
    pub install_darwin: Vec<String>,
    /// Installed only on Linux (`lib/libplasmite.so`), as `install`.
    #[serde(default)]
    pub install_linux: Vec<String>,
    /// The formula's `homepage` [default: `package.homepage` of the root `Cargo.toml`, else the
    /// project's GitHub page].
    #[serde(default)]
    pub homepage: Option<String>,
}

impl HomebrewChannel {
    /// The formula's name: the file stem of `formula` (`Formula/plasmite.rb` -> `plasmite`).
    pub fn formula_name(&self) -> Option<&str> {
        Utf8Path::new(&self.formula).file_stem()
    }
}

/// The Homebrew folders a formula may install into (the first segment of an `install` path).
pub const HOMEBREW_FOLDERS: [&str; 7] = ["bin", "sbin", "lib", "libexec", "include", "share", "etc"];

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
#[derive(Debug, Clone)]
pub struct GatePolicy {
    /// Unique id (`release-gate`, `audit`); used by `--only` and `--waive`.
    pub id: String,
    /// The program and its arguments, run without a shell in the repository root.
    pub run: Vec<String>,
    /// When given, the gate runs only if a matching file changed since the base tag.
    pub when_changed: Vec<PathPattern>,
    /// Time limit (written `"30m"`, `"90s"`); past it the gate fails.
    pub timeout: Option<Duration>,
    /// Tools that must be on PATH; a missing one makes the gate incomplete.
    pub requires: Vec<String>,
    /// One line saying what the gate proves.
    pub description: Option<String>,
    /// Whether `qa --waive` may skip it [default: true]; `waivable = false` makes waiving it a
    /// usage error.
    pub waivable: bool,
    /// Line of the entry in the policy.
    pub policy_line: usize,
}

/// A `when_changed` glob, checked on load: `*`, `?` and `**` over `/`-separated paths relative
/// to the repository root (see `glob`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern(String);

impl PathPattern {
    /// A pattern from its text; empty (or blank) text is an error.
    pub fn parse(text: &str) -> anyhow::Result<PathPattern> {
        if text.trim().is_empty() {
            bail!("an empty path pattern matches nothing");
        }
        Ok(PathPattern(text.to_string()))
    }

    /// Whether the `/`-separated `path`, relative to the repository root, matches.
    pub fn matches(&self, path: &str) -> bool {
        glob::matches(&self.0, path)
    }

    /// The pattern as written in the policy.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
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
    /// Per bench: a regression of that bench blocks only when its base median is at least this
    /// many ms/msg (a bench that times one short call is too noisy below it). Benches not named
    /// here have no floor.
    #[serde(default)]
    pub min_blocking_base_ms: BTreeMap<String, f64>,
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
    /// Where the release archives are looked for when no path is given [default: `dist`].
    #[serde(default = "default_notice_search")]
    pub search: Vec<NoticeSearch>,
}

impl Default for NoticesPolicy {
    fn default() -> NoticesPolicy {
        NoticesPolicy { files: default_notice_files(), copies: Vec::new(), search: default_notice_search() }
    }
}

fn default_notice_files() -> Vec<Utf8PathBuf> {
    vec!["LICENSE".into(), "THIRD_PARTY_NOTICES.md".into()]
}

fn default_notice_search() -> Vec<NoticeSearch> {
    vec![NoticeSearch { dir: "dist".into(), extension: None, depth: 1 }]
}

/// One folder of `[notices] search`: `{ dir = "bindings/node", extension = "tgz" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeSearch {
    /// The folder, relative to the repository root; a missing folder is passed over.
    pub dir: Utf8PathBuf,
    /// Only files with this extension (`tgz`, when the folder also holds sources) [default:
    /// every archive kind the check reads].
    #[serde(default)]
    pub extension: Option<String>,
    /// How many folder levels to look into; 1 is the folder itself [default: 1].
    #[serde(default = "one")]
    pub depth: usize,
}

fn one() -> usize {
    1
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
    /// The channels `smoke` installs from when `--channels` is not given, and the ones `next`
    /// smokes after the live publish, by name (`npm`, `pypi`, `crates`, `homebrew`) [default:
    /// every one with a `[channel.*]` table]. A channel whose users install nothing this way
    /// can be left out; the names are checked where they are used (`smoke::policy_channels`).
    #[serde(default)]
    pub channels: Option<Vec<String>>,
}

/// `[artifacts.<kind>]`: per archive kind (`sdk`, `sdist`, `wheel`, `npm`, `crate`), the members
/// it must hold, as paths inside the kind's layout (`bin/plasmite` in an SDK archive,
/// `package.json` in an npm tarball: under its `package/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactsPolicy {
    /// Prebuilt SDK archives.
    #[serde(default)]
    pub sdk: Option<ArtifactMembers>,
    /// Python sdists (members under `<name>-<version>/`).
    #[serde(default)]
    pub sdist: Option<ArtifactMembers>,
    /// Python wheels (members from the wheel's root).
    #[serde(default)]
    pub wheel: Option<ArtifactMembers>,
    /// npm tarballs (members under `package/`).
    #[serde(default)]
    pub npm: Option<ArtifactMembers>,
    /// `.crate` files (members under `<name>-<version>/`).
    #[serde(default)]
    #[serde(rename = "crate")]
    pub crate_file: Option<ArtifactMembers>,
}

/// The members one archive kind must hold: `members` in every archive, plus the list of the
/// archive's operating system (read from the platform its file name carries:
/// `plasmite_0.8.0_linux_amd64.tar.gz` is Linux), so per-OS library names can be said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactMembers {
    /// In every archive of the kind.
    #[serde(default)]
    pub members: Vec<String>,
    /// Also in Linux archives (`lib/libplasmite.so`).
    #[serde(default)]
    pub linux: Vec<String>,
    /// Also in macOS archives (`lib/libplasmite.dylib`).
    #[serde(default)]
    pub darwin: Vec<String>,
    /// Also in Windows archives (`lib/plasmite.dll`).
    #[serde(default)]
    pub windows: Vec<String>,
}

impl ArtifactMembers {
    /// Whether any list depends on the operating system.
    pub fn per_os(&self) -> bool {
        !(self.linux.is_empty() && self.darwin.is_empty() && self.windows.is_empty())
    }

    /// Every list with its key, for validation.
    pub fn lists(&self) -> [(&'static str, &[String]); 4] {
        [("members", &self.members), ("linux", &self.linux), ("darwin", &self.darwin), ("windows", &self.windows)]
    }
}

/// `[npm_platforms]`: where the Node platform lists live besides the manifest (bug 14: they
/// drifted apart).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NpmPlatformsPolicy {
    /// The npm package's `package.json`; its `files` entries `native/<platform>/...` are read.
    pub package_json: Utf8PathBuf,
    /// Workflows whose `node-native-<platform>` artifact names are read (templated names such
    /// as `node-native-${{ matrix.node_platform }}` are left out).
    #[serde(default)]
    pub workflows: Vec<Utf8PathBuf>,
}
/// `[release]`: what the release mechanics need to know (`preflight`, `tag`, `publish`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleasePolicy {
    /// The publish workflow file under `.github/workflows/` (`release-publish.yml`), which
    /// `publish` dispatches with `release_tag`, `rehearsal` and (recovery only) `build_run_id`.
    #[serde(default)]
    pub publish_workflow: Option<String>,
    /// Actions secrets every publish needs, rehearsals included (names only).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Actions secrets only a live publish needs.
    #[serde(default)]
    pub live_secrets: Vec<String>,
    /// Workflow tool pins (`RELEASE_RUST_TOOLCHAIN`): each must have one value across every
    /// `.github/workflows/*.yml` that sets it.
    #[serde(default)]
    pub pins: Vec<String>,
    /// Nested modules tagged with their folder as prefix (`bindings/go` gets
    /// `bindings/go/vX.Y.Z`, the only tags Go resolves a nested module's versions from).
    #[serde(default)]
    pub nested_modules: Vec<Utf8PathBuf>,
    /// The remote tags are pushed to [default: `origin`].
    #[serde(default = "default_remote")]
    pub remote: String,
}

fn default_remote() -> String {
    "origin".to_string()
}

impl Default for ReleasePolicy {
    fn default() -> ReleasePolicy {
        ReleasePolicy {
            publish_workflow: None,
            secrets: Vec::new(),
            live_secrets: Vec::new(),
            pins: Vec::new(),
            nested_modules: Vec::new(),
            remote: default_remote(),
        }
    }
}
