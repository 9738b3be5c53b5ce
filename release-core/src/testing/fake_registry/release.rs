//! [`PublishedRelease`]: the world the fake serves, and the builders of coherent artifacts.

use std::collections::BTreeMap;

use anyhow::Context as _;
use sha2::Digest as _;

use crate::{
    manifest::{Arch, Manifest, Os, Platform, Tier},
    registry::{self, homebrew},
    target::ReleaseTarget,
};

/// One `.crate` version in the index.
#[derive(Debug, Clone)]
pub struct CrateVersion {
    /// The version.
    pub vers: String,
    /// The `.crate` bytes served for download.
    pub bytes: Vec<u8>,
    /// The `cksum` written in the index (normally the bytes' SHA-256).
    pub cksum: String,
    /// Yank state.
    pub yanked: bool,
}

/// One npm version.
#[derive(Debug, Clone)]
pub struct NpmVersion {
    /// The tarball bytes.
    pub tarball: Vec<u8>,
    /// `dist.integrity` (normally the tarball's SRI).
    pub integrity: String,
    /// The version manifest's `bin` (command name -> path in the package), which npm links.
    pub bin: BTreeMap<String, String>,
}

impl NpmVersion {
    /// A version serving `tarball`, with its SRI as `integrity` and no `bin`.
    pub fn new(tarball: Vec<u8>) -> NpmVersion {
        NpmVersion { integrity: registry::sri_sha512(&tarball), tarball, bin: BTreeMap::new() }
    }
}

/// One PyPI file.
#[derive(Debug, Clone)]
pub struct PypiFile {
    /// File name.
    pub filename: String,
    /// `sdist` or `bdist_wheel`.
    pub packagetype: String,
    /// Bytes served.
    pub bytes: Vec<u8>,
    /// `digests.sha256` (normally the bytes' SHA-256).
    pub sha256: String,
    /// PEP 592 yank.
    pub yanked: bool,
}

/// How the fake's PyPI answers what is published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PypiMode {
    /// As pypi.org: the project JSON with absolute file URLs, and per-version JSON.
    #[default]
    Pypi,
    /// As a mirror we met: the project JSON lists every release (file URLs relative to it),
    /// and the per-version JSON (`/pypi/<name>/<version>/json`) answers 404 for all of them.
    Mirror,
    /// [`PypiMode::Mirror`], and every file listed without digests.
    MirrorWithoutDigests,
}

/// A GitHub release asset.
#[derive(Debug, Clone)]
pub struct Asset {
    /// File name.
    pub name: String,
    /// Bytes served.
    pub bytes: Vec<u8>,
    /// `digest` (normally `sha256:<hex of bytes>`); `None` serves null.
    pub digest: Option<String>,
}

/// A workflow run: of the CI workflow, or of the release build with its artifacts.
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    /// Run id.
    pub id: u64,
    /// Workflow file name (`ci.yml`, `release.yml`); the run's `path` is
    /// `.github/workflows/<workflow>`.
    pub workflow: String,
    /// Display name of the workflow (`name:` in the file).
    pub name: String,
    /// The commit.
    pub head_sha: String,
    /// The branch or tag the run was triggered on.
    pub head_branch: String,
    /// `push`, `workflow_dispatch`, `pull_request`...
    pub event: String,
    /// `completed`, `in_progress`...
    pub status: String,
    /// `success`, `failure`, or `None` until completed.
    pub conclusion: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Jobs of the latest attempt.
    pub jobs: Vec<Job>,
    /// Artifacts uploaded by the run.
    pub artifacts: Vec<RunArtifact>,
    /// `(queued, running)`: the run shows `queued` for its first `queued` polls (GETs of the
    /// run by id), then `in_progress` for `running` more, and only then `status` and
    /// `conclusion`. `None`: it always shows them. The fake runs in its own thread and cannot
    /// see a test's manual clock, so a schedule counts polls, not time.
    pub schedule: Option<(u32, u32)>,
    /// GETs of the run by id so far.
    pub polls: u32,
    /// When the run is dispatched from a plan: give it a `release-metadata` artifact whose
    /// `metadata.json` is [`build_metadata`] of the dispatched ref, the run's commit and id,
    /// and the artifacts of [`PublishedRelease::build_uploads`].
    pub writes_metadata: bool,
}

impl WorkflowRun {
    /// The `status` and `conclusion` the run shows now (see [`WorkflowRun::schedule`]).
    pub fn shown(&self) -> (&str, Option<&str>) {
        match self.schedule {
            Some((queued, _)) if self.polls <= queued => ("queued", None),
            Some((queued, running)) if self.polls <= queued + running => ("in_progress", None),
            _ => (self.status.as_str(), self.conclusion.as_deref()),
        }
    }
}

impl Default for WorkflowRun {
    /// A completed, successful `push` run of `ci.yml` on `main`, with no jobs or artifacts.
    fn default() -> WorkflowRun {
        WorkflowRun {
            id: 1,
            workflow: "ci.yml".into(),
            name: "ci".into(),
            head_sha: String::new(),
            head_branch: "main".into(),
            event: "push".into(),
            status: "completed".into(),
            conclusion: Some("success".into()),
            created_at: "2026-07-28T09:10:00Z".into(),
            jobs: Vec::new(),
            artifacts: Vec::new(),
            schedule: None,
            polls: 0,
            writes_metadata: false,
        }
    }
}

/// A job of a run.
#[derive(Debug, Clone)]
pub struct Job {
    /// Job name (`build (ubuntu-latest, x86_64)` for matrix jobs).
    pub name: String,
    /// `success`, `failure`... or `None` while running.
    pub conclusion: Option<String>,
    /// The job's log, served (after a 302, as GitHub does) at `actions/jobs/{id}/logs`.
    pub log: String,
}

impl Job {
    /// A completed job.
    pub fn new(name: &str, conclusion: &str) -> Job {
        Job { name: name.into(), conclusion: Some(conclusion.into()), log: format!("{name}: done\n") }
    }

    /// A completed job with this log.
    pub fn with_log(mut self, log: &str) -> Job {
        self.log = log.into();
        self
    }
}

/// One `workflow_dispatch` the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// The workflow file (`release-publish.yml`).
    pub workflow: String,
    /// The `ref` asked (`v0.8.0`).
    pub git_ref: String,
    /// The `inputs`, as strings (GitHub passes every input as one).
    pub inputs: BTreeMap<String, String>,
    /// The run it created.
    pub run_id: u64,
}

/// What the token the fake sees may do, as GitHub tells it: a classic token's scopes come in
/// the `X-OAuth-Scopes` header of every answer; a fine-grained or app token sends none, and
/// an endpoint it lacks a permission for answers 403 `Resource not accessible by personal
/// access token` with `X-Accepted-GitHub-Permissions` naming what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// Classic token scopes (`repo`, `workflow`); `None` for a fine-grained or app token.
    pub scopes: Option<Vec<String>>,
    /// Fine-grained permissions (`actions` -> `write`); `read` < `write`. Ignored for a classic
    /// token, whose scopes decide.
    pub permissions: BTreeMap<String, String>,
    /// The `permissions` object `GET /repos/{o}/{r}` shows (the user's role): `push`, `admin`.
    pub role_push: bool,
}

impl Default for TokenGrant {
    /// A fine-grained token with what a release needs: actions, contents and issues write,
    /// secrets read, on a repository the user may push to.
    fn default() -> TokenGrant {
        let permissions = [("actions", "write"), ("contents", "write"), ("issues", "write"), ("secrets", "read")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TokenGrant { scopes: None, permissions, role_push: true }
    }
}

impl TokenGrant {
    /// A classic token with these scopes.
    pub fn classic(scopes: &[&str]) -> TokenGrant {
        TokenGrant { scopes: Some(scopes.iter().map(|s| s.to_string()).collect()), ..TokenGrant::default() }
    }

    /// Whether the token may use `permission` at `level` (`read` or `write`).
    pub fn allows(&self, permission: &str, level: &str) -> bool {
        if let Some(scopes) = &self.scopes {
            // Every repository permission of a classic token comes with `repo`.
            return scopes.iter().any(|s| s == "repo");
        }
        match self.permissions.get(permission).map(String::as_str) {
            Some("write") => true,
            Some("read") => level == "read",
            _ => false,
        }
    }

    /// The same grant without `permission` (a fine-grained token missing it).
    pub fn without(mut self, permission: &str) -> TokenGrant {
        self.permissions.remove(permission);
        self
    }
}

/// An artifact of a run: a zip, as every artifact download is.
#[derive(Debug, Clone)]
pub struct RunArtifact {
    /// Artifact id (unique across runs).
    pub id: u64,
    /// Artifact name (`release-metadata`).
    pub name: String,
    /// The zip served for download.
    pub zip: Vec<u8>,
    /// Past retention: listed with `expired: true`, download answers 410.
    pub expired: bool,
    /// The `digest` the API lists; `None` lists the zip's own `sha256:`.
    pub digest: Option<String>,
}

/// An issue (or a pull request, which GitHub lists among issues).
#[derive(Debug, Clone)]
pub struct Issue {
    /// Issue number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Label names.
    pub labels: Vec<String>,
    /// `open` or `closed`.
    pub state: String,
    /// A pull request (listed with a `pull_request` key).
    pub pull_request: bool,
}

/// A zip archive of `(path, bytes)` entries, deflated, as GitHub serves artifacts. Paths are
/// written as given (a test may write `../escape`).
pub fn zip_bytes(files: &[(&str, &[u8])]) -> anyhow::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        zip.start_file(*path, options)?;
        std::io::Write::write_all(&mut zip, bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The `metadata.json` the release build writes (facts §6.1): every value a string.
pub fn build_metadata(tag: &str, source_sha: &str, run_id: u64) -> serde_json::Value {
    serde_json::json!({
        "tag": tag,
        "version": tag.strip_prefix('v').unwrap_or(tag),
        "source_sha": source_sha,
        "source_ref": format!("refs/tags/{tag}"),
        "source_run_id": run_id.to_string(),
        "source_workflow": "release",
    })
}

/// The fake's default `config.json` `dl`: markers, files at
/// `/dl/{crate}/{crate}-{version}.crate`.
pub const CRATES_DL_MARKERS: &str = "{base}/dl/{crate}/{crate}-{version}.crate";
/// A `dl` without markers, as crates.io's: cargo appends `/{crate}/{version}/download`.
pub const CRATES_DL_PLAIN: &str = "{base}/dl";
/// A `dl` with the directory prefix and the checksum, as some private registries have.
pub const CRATES_DL_PREFIXED: &str = "{base}/dl/files/{prefix}/{lowerprefix}/{sha256-checksum}/{crate}-{version}.crate";

/// The "world" the fake serves: what is published where. Every field is public so a test can
/// break exactly one thing.
#[derive(Debug, Clone)]
pub struct PublishedRelease {
    /// The target version.
    pub target: ReleaseTarget,
    /// `owner/repo` of the project.
    pub repo: String,
    /// Crate, npm and PyPI package name.
    pub package: String,
    /// The tap `owner/repo` and the formula path in it.
    pub tap: (String, String),
    /// Workflow files that exist (`ci.yml`, `release.yml`); others answer 404.
    pub workflows: Vec<String>,
    /// Sparse index lines, in publish order.
    pub crates: Vec<CrateVersion>,
    /// The `dl` of the index's `config.json`, with `{base}` for the fake's base URL: `.crate`
    /// files are served exactly where cargo's expansion of it points, and nowhere else.
    /// [`PublishedRelease::coherent`] uses [`CRATES_DL_MARKERS`].
    pub crates_dl: String,
    /// npm versions by version.
    pub npm: BTreeMap<String, NpmVersion>,
    /// npm `dist-tags`.
    pub npm_tags: BTreeMap<String, String>,
    /// Versions the package document leaves out while `/{name}/{version}` serves them: a
    /// document cached from before their publish (npm caches them for minutes).
    pub npm_document_omits: Vec<String>,
    /// PyPI releases by PEP 440 version; `true` = the whole release is yanked.
    pub pypi: BTreeMap<String, (Vec<PypiFile>, bool)>,
    /// PyPI `info.version` of the project document.
    pub pypi_current: String,
    /// pypi.org or a mirror.
    pub pypi_mode: PypiMode,
    /// Whether the GitHub release exists at all.
    pub release_exists: bool,
    /// Draft releases answer 404 by tag, as GitHub does.
    pub draft: bool,
    /// The release's `prerelease` flag.
    pub prerelease: bool,
    /// Release assets.
    pub assets: Vec<Asset>,
    /// Commit of the tag (an annotated tag object is served in between).
    pub tag_commit: Option<String>,
    /// Runs of every workflow.
    pub runs: Vec<WorkflowRun>,
    /// Issues and pull requests of the project repository.
    pub issues: Vec<Issue>,
    /// `false` answers 410 to filing an issue, as a repository with issues disabled does.
    pub issues_enabled: bool,
    /// The tap formula; `{github_web}` is replaced with the fake's web base when served.
    pub formula: Option<String>,
    /// Every `workflow_dispatch` received, oldest first.
    pub dispatches: Vec<Dispatch>,
    /// Per workflow file, the runs the next dispatches create, in order (the fake fills in
    /// id, ref, commit and event); when none is planned a dispatch creates a run that
    /// succeeds at once with no jobs.
    pub planned: BTreeMap<String, std::collections::VecDeque<WorkflowRun>>,
    /// Names of the repository's Actions secrets (`GET actions/secrets`).
    pub secrets: Vec<String>,
    /// The artifacts a build dispatched from a plan with `writes_metadata` uploads besides
    /// the metadata ([`build_uploads`] of the manifest given to [`PublishedRelease::coherent`]).
    pub build_uploads: Vec<String>,
    /// What the token may do.
    pub grant: TokenGrant,
}

/// Builds a gzipped tarball of `(path, bytes)` entries.
pub fn tgz(files: &[(String, Vec<u8>)]) -> anyhow::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, path, bytes.as_slice())?;
    }
    Ok(builder.into_inner()?.finish()?)
}

/// A `.crate` that `cargo install` can build: package `name` at `version`, no dependencies,
/// one binary `bin` whose `--version` prints `prints`.
pub fn crate_tarball(name: &str, version: &str, bin: &str, prints: &str) -> anyhow::Result<Vec<u8>> {
    let root = format!("{name}-{version}");
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\n[[bin]]\nname = \"{bin}\"\npath = \"src/main.rs\"\n"
    );
    let lock = format!("version = 3\n\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n");
    let main = format!("fn main() {{\n    println!(\"{prints}\");\n}}\n");
    tgz(&[
        (format!("{root}/Cargo.toml"), manifest.into_bytes()),
        (format!("{root}/Cargo.lock"), lock.into_bytes()),
        (format!("{root}/src/main.rs"), main.into_bytes()),
    ])
}

/// A pure-Python wheel that `uv tool install` can install: package `name` at `version`, whose
/// console script `bin` prints `prints`. The file name is [`wheel_name`].
pub fn wheel_bytes(name: &str, version: &str, bin: &str, prints: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    let info = format!("{name}-{version}.dist-info");
    let files: Vec<(String, Vec<u8>)> = vec![
        (format!("{name}/__init__.py"), format!("def main():\n    print({prints:?})\n").into_bytes()),
        (format!("{info}/METADATA"), format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n").into_bytes()),
        (
            format!("{info}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: release-core-testing\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
        ),
        (format!("{info}/entry_points.txt"), format!("[console_scripts]\n{bin} = {name}:main\n").into_bytes()),
    ];
    let mut record: String = files
        .iter()
        .map(|(path, bytes)| {
            let digest = sha2::Sha256::digest(bytes);
            let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
            format!("{path},sha256={hash},{}\n", bytes.len())
        })
        .collect();
    record.push_str(&format!("{info}/RECORD,,\n"));
    let mut all: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    let record_path = format!("{info}/RECORD");
    all.push((&record_path, record.as_bytes()));
    zip_bytes(&all)
}

/// `<name>-<version>-py3-none-any.whl`: the file name of [`wheel_bytes`].
pub fn wheel_name(name: &str, version: &str) -> String {
    format!("{name}-{version}-py3-none-any.whl")
}

/// The sums file text for assets: `<hex>  <name>` per archive, sorted by name.
pub fn sums_text(assets: &[Asset]) -> String {
    let mut lines: Vec<String> = assets
        .iter()
        .filter(|a| a.name.ends_with(".tar.gz"))
        .map(|a| format!("{}  {}\n", registry::sha256_hex(&a.bytes), a.name))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat()
}

fn wheel_tag(platform: Platform) -> &'static str {
    match (platform.os, platform.arch) {
        (Os::Darwin, Arch::Amd64) => "macosx_10_12_x86_64",
        (Os::Darwin, Arch::Arm64) => "macosx_11_0_arm64",
        (Os::Windows, Arch::Amd64) => "win_amd64",
        (Os::Windows, Arch::Arm64) => "win_arm64",
        (Os::Linux, Arch::Arm64) => "manylinux_2_17_aarch64.manylinux2014_aarch64",
        (Os::Linux, Arch::Amd64) => "manylinux_2_17_x86_64.manylinux2014_x86_64",
    }
}

/// The artifacts plasmite's release.yml uploads besides `release-metadata`, for `manifest`,
/// as facts §6.1 describes each matrix leg (written from the workflow, not from the check):
/// `py-dist-<sdk_platform>` when `upload_wheel`, `py-sdist` when `upload_sdist`,
/// `dist-<rust_target>` when `build_sdk`, `node-native-<node_platform>` for every leg; then
/// `node-dist`.
pub fn build_uploads(manifest: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    for t in &manifest.targets {
        if t.upload_wheel {
            out.push(format!("py-dist-{}", t.sdk_platform));
        }
        if t.upload_sdist {
            out.push("py-sdist".to_string());
        }
        if t.build_sdk {
            out.push(format!("dist-{}", t.rust_target));
        }
        out.push(format!("node-native-{}", t.node_platform));
    }
    out.push("node-dist".to_string());
    out
}

/// The artifacts `names` of run `id` (ids `run id * 1000 + 1`, ...: apart from the metadata's
/// `run id * 10`), each a small zip whose one member names the artifact.
pub fn run_artifacts(id: u64, names: &[String]) -> anyhow::Result<Vec<RunArtifact>> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Ok(RunArtifact {
                id: id * 1000 + 1 + i as u64,
                name: name.clone(),
                zip: zip_bytes(&[(&format!("{name}.txt"), format!("fake {name}").as_bytes())])?,
                expired: false,
                digest: None,
            })
        })
        .collect()
}

impl WorkflowRun {
    /// A successful `push` run of `release.yml` (display name `release`) on `tag` at
    /// `commit`, with the jobs of the build, a `release-metadata` artifact (id `run id * 10`)
    /// whose `metadata.json` is [`build_metadata`], and the artifacts the build uploads for the
    /// plasmite fixture manifest ([`build_uploads`]).
    pub fn build(id: u64, tag: &str, commit: &str) -> anyhow::Result<WorkflowRun> {
        WorkflowRun::build_of(&crate::testing::plasmite_manifest(), id, tag, commit)
    }

    /// [`WorkflowRun::build`] of `manifest`: its uploads are [`build_uploads`] of `manifest`.
    pub fn build_of(manifest: &Manifest, id: u64, tag: &str, commit: &str) -> anyhow::Result<WorkflowRun> {
        let metadata = build_metadata(tag, commit, id).to_string();
        let mut artifacts = vec![RunArtifact {
            id: id * 10,
            name: "release-metadata".into(),
            zip: zip_bytes(&[("metadata.json", metadata.as_bytes())])?,
            expired: false,
            digest: None,
        }];
        artifacts.extend(run_artifacts(id, &build_uploads(manifest))?);
        Ok(WorkflowRun {
            id,
            workflow: "release.yml".into(),
            name: "release".into(),
            head_sha: commit.into(),
            head_branch: tag.into(),
            created_at: "2026-07-28T10:00:00Z".into(),
            jobs: vec![
                Job::new("release-context", "success"),
                Job::new("build-platform (x86_64-unknown-linux-gnu)", "success"),
                Job::new("build-node-dist", "success"),
            ],
            artifacts,
            ..WorkflowRun::default()
        })
    }

    /// The artifact called `name`, for a test to change (expire it).
    pub fn artifact_mut(&mut self, name: &str) -> Option<&mut RunArtifact> {
        self.artifacts.iter_mut().find(|a| a.name == name)
    }

    /// Replaces the zip of the artifact called `name`.
    pub fn set_artifact(&mut self, name: &str, zip: Vec<u8>) {
        if let Some(a) = self.artifacts.iter_mut().find(|a| a.name == name) {
            a.zip = zip;
        }
    }
}

impl PublishedRelease {
    /// The run with this id, for a test to change.
    pub fn run_mut(&mut self, id: u64) -> Option<&mut WorkflowRun> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// A release of `version` published consistently everywhere, as docs/plasmite/policy.toml
    /// describes plasmite (package `plasmite`, repo `sandover/plasmite`, tap
    /// `sandover/homebrew-tap`): an older 0.7.2 before it, the exact version on every
    /// registry with correct checksums, `latest`/current pointing at it (unless it is a
    /// pre-release), the GitHub release with one archive per github_sdk-official target and a
    /// matching sums file, a green CI run on the tag's commit, and an aligned formula.
    pub fn coherent(manifest: &Manifest, version: &str) -> anyhow::Result<PublishedRelease> {
        let target = ReleaseTarget::parse(version)?;
        let v = target.version();
        let pep = target.pep440().to_string();
        let name = "plasmite".to_string();
        let crate_bytes = |v: &str| format!("crate {v}").into_bytes();
        let crates = ["0.7.2", v.as_str()]
            .iter()
            .map(|vers| CrateVersion {
                vers: vers.to_string(),
                bytes: crate_bytes(vers),
                cksum: registry::sha256_hex(&crate_bytes(vers)),
                yanked: false,
            })
            .collect();
        let mut npm_files = vec![(
            "package/package.json".to_string(),
            format!("{{\"name\":\"{name}\",\"version\":\"{v}\"}}").into_bytes(),
        )];
        for t in manifest.in_channel(crate::manifest::Channel::Npm, Tier::Official)? {
            npm_files.push((format!("package/native/{}/index.node", t.node_platform), b"\x7fELF native".to_vec()));
        }
        let tarball = tgz(&npm_files)?;
        let old = tgz(&[("package/package.json".to_string(), b"{}".to_vec())])?;
        let npm = BTreeMap::from([("0.7.2".to_string(), NpmVersion::new(old)), (v.clone(), NpmVersion::new(tarball))]);
        let stable = !target.is_prerelease();
        let latest = if stable { v.clone() } else { "0.7.2".to_string() };
        let file = |filename: String, packagetype: &str| {
            let bytes = format!("file {filename}").into_bytes();
            PypiFile {
                sha256: registry::sha256_hex(&bytes),
                bytes,
                filename,
                packagetype: packagetype.into(),
                yanked: false,
            }
        };
        let mut files = Vec::new();
        if manifest.targets.iter().any(|t| t.upload_sdist) {
            files.push(file(format!("{name}-{pep}.tar.gz"), "sdist"));
        }
        for t in manifest.in_channel(crate::manifest::Channel::Pypi, Tier::Official)? {
            files.push(file(format!("{name}-{pep}-cp311-cp311-{}.whl", wheel_tag(t.platform)), "bdist_wheel"));
        }
        let pypi = BTreeMap::from([
            ("0.7.2".to_string(), (vec![file(format!("{name}-0.7.2.tar.gz"), "sdist")], false)),
            (pep.clone(), (files, false)),
        ]);
        let template = "plasmite_{version}_{sdk_platform}.tar.gz";
        let mut assets: Vec<Asset> = manifest
            .in_channel(crate::manifest::Channel::Github, Tier::Official)?
            .iter()
            .map(|t| {
                let name = registry::asset_name(template, &v, &t.sdk_platform);
                let bytes = format!("sdk {name}").into_bytes();
                Asset { digest: Some(format!("sha256:{}", registry::sha256_hex(&bytes))), name, bytes }
            })
            .collect();
        let sums = sums_text(&assets).into_bytes();
        assets.push(Asset {
            name: "sha256sums.txt".into(),
            digest: Some(format!("sha256:{}", registry::sha256_hex(&sums))),
            bytes: sums,
        });
        let commit = registry::sha256_hex(v.as_bytes())[..40].to_string();
        let ci = WorkflowRun { id: 1001, head_sha: commit.clone(), ..WorkflowRun::default() };
        let build = WorkflowRun::build_of(manifest, 2001, &target.tag(), &commit)?;
        let runs = vec![ci, build];
        let mut release = PublishedRelease {
            target,
            repo: "sandover/plasmite".into(),
            package: name,
            tap: ("sandover/homebrew-tap".into(), "Formula/plasmite.rb".into()),
            workflows: vec!["ci.yml".into(), "release.yml".into(), "release-publish.yml".into()],
            crates,
            crates_dl: CRATES_DL_MARKERS.into(),
            npm,
            npm_tags: BTreeMap::from([("latest".to_string(), latest)]),
            npm_document_omits: Vec::new(),
            pypi,
            pypi_current: if stable { pep } else { "0.7.2".into() },
            pypi_mode: PypiMode::Pypi,
            release_exists: true,
            draft: false,
            prerelease: !stable,
            assets,
            tag_commit: Some(commit),
            runs,
            issues: Vec::new(),
            issues_enabled: true,
            formula: None,
            dispatches: Vec::new(),
            planned: BTreeMap::new(),
            secrets: ["CARGO_REGISTRY_TOKEN", "PYPI_API_TOKEN", "HOMEBREW_TAP_TOKEN"].map(String::from).to_vec(),
            grant: TokenGrant::default(),
            build_uploads: build_uploads(manifest),
        };
        release.formula = Some(release.render_formula(manifest)?);
        Ok(release)
    }

    /// Renders the aligned formula for the current assets (with the `{github_web}` placeholder).
    pub fn render_formula(&self, manifest: &Manifest) -> anyhow::Result<String> {
        let v = self.target.version();
        let mut platforms = BTreeMap::new();
        for t in manifest.in_channel(crate::manifest::Channel::Homebrew, Tier::Official)? {
            let name = registry::asset_name("plasmite_{version}_{sdk_platform}.tar.gz", &v, &t.sdk_platform);
            let asset = self.assets.iter().find(|a| a.name == name).with_context(|| format!("no asset {name}"))?;
            platforms.insert(t.sdk_platform.clone(), (name, registry::sha256_hex(&asset.bytes)));
        }
        Ok(homebrew::render(&homebrew::RenderInput {
            name: "plasmite".into(),
            desc: "Persistent JSON message queues".into(),
            license: "MIT".into(),
            install: vec!["bin/plasmite".into()],
            install_darwin: Vec::new(),
            install_linux: Vec::new(),
            homepage: format!("{{github_web}}/{}", self.repo),
            repo: self.repo.clone(),
            github_web: "{github_web}".into(),
            version: v,
            platforms,
        }))
    }

    /// The asset named `name`, for a test to change.
    pub fn asset_mut(&mut self, name: &str) -> Option<&mut Asset> {
        self.assets.iter_mut().find(|a| a.name == name)
    }

    /// Serves `bytes` as the `.crate` of `version` (adding the version if missing), with the
    /// matching `cksum` in the index.
    pub fn set_crate(&mut self, version: &str, bytes: Vec<u8>) {
        let cksum = registry::sha256_hex(&bytes);
        match self.crates.iter_mut().find(|c| c.vers == version) {
            Some(c) => {
                c.bytes = bytes;
                c.cksum = cksum;
            }
            None => self.crates.push(CrateVersion { vers: version.into(), bytes, cksum, yanked: false }),
        }
    }

    /// Serves `bytes` as the only file of the PyPI release `pep440` (a wheel named `filename`),
    /// with the matching `sha256`.
    pub fn set_pypi_wheel(&mut self, pep440: &str, filename: &str, bytes: Vec<u8>) {
        let file = PypiFile {
            filename: filename.into(),
            packagetype: "bdist_wheel".into(),
            sha256: registry::sha256_hex(&bytes),
            bytes,
            yanked: false,
        };
        self.pypi.insert(pep440.into(), (vec![file], false));
    }

    /// The sdk archive name of a platform for the target.
    pub fn archive(&self, sdk_platform: &str) -> String {
        registry::asset_name("plasmite_{version}_{sdk_platform}.tar.gz", &self.target.version(), sdk_platform)
    }
}
