//! `release/targets.json`: the native targets manifest and the channel lists derived from it.
//!
//! [`parse`] checks every rule and reports each broken one on its own line, naming the target
//! and the field (the script said only "invalid"). Unknown keys are errors.

use std::{collections::BTreeMap, fmt};

use anyhow::bail;
use camino::Utf8Path;
use serde::Serialize;
use serde_json::{Map, Value};

/// A delivery channel: where users get a release from. One type for the manifest, `verify`
/// and `smoke`; each context keeps its own wire name for a channel ([`Channel::key`] in the
/// manifest, [`Channel::name`] on the command line and in reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// crates.io (not per target, so not in the manifest).
    Crates,
    /// npm, with per-target native directories.
    Npm,
    /// PyPI: the sdist and per-target wheels.
    Pypi,
    /// The GitHub release and its SDK archives (`github_sdk` in the manifest).
    Github,
    /// The Homebrew tap formula.
    Homebrew,
    /// `cargo binstall` from the SDK archives (manifest only).
    CargoBinstall,
}

impl Channel {
    /// The channels of the manifest, in manifest order.
    pub const MANIFEST: [Channel; 5] =
        [Channel::Github, Channel::Homebrew, Channel::Npm, Channel::Pypi, Channel::CargoBinstall];
    /// The channels `verify` checks, in report order.
    pub const VERIFY: [Channel; 5] = [Channel::Crates, Channel::Npm, Channel::Pypi, Channel::Github, Channel::Homebrew];
    /// The channels `smoke` installs from, in report order.
    pub const SMOKE: [Channel; 4] = [Channel::Npm, Channel::Pypi, Channel::Crates, Channel::Homebrew];

    /// The name on the command line (`--channels`), in reports and in finding ids.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Crates => "crates",
            Channel::Npm => "npm",
            Channel::Pypi => "pypi",
            Channel::Github => "github",
            Channel::Homebrew => "homebrew",
            Channel::CargoBinstall => "cargo_binstall",
        }
    }

    /// The key under a target's `channels` in the manifest; `None` for crates.io, which is
    /// not per target.
    pub fn key(self) -> Option<&'static str> {
        match self {
            Channel::Crates => None,
            Channel::Npm => Some("npm"),
            Channel::Pypi => Some("pypi"),
            Channel::Github => Some("github_sdk"),
            Channel::Homebrew => Some("homebrew"),
            Channel::CargoBinstall => Some("cargo_binstall"),
        }
    }

    /// Parses a manifest key (`github_sdk`); the error lists the valid keys.
    pub fn from_key(key: &str) -> anyhow::Result<Channel> {
        Channel::MANIFEST
            .into_iter()
            .find(|c| c.key() == Some(key))
            .ok_or_else(|| anyhow::anyhow!("unknown channel `{key}`: one of {}", manifest_keys()))
    }

    /// Parses a command-line name among `valid` (a context's list: [`Channel::VERIFY`],
    /// [`Channel::SMOKE`]); `None` when it is not one of them.
    pub fn from_name(name: &str, valid: &[Channel]) -> Option<Channel> {
        valid.iter().copied().find(|c| c.name() == name)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `github_sdk, homebrew, npm, pypi, cargo_binstall`, for messages.
fn manifest_keys() -> String {
    Channel::MANIFEST.iter().filter_map(|c| c.key()).collect::<Vec<_>>().join(", ")
}

/// An operating system a release target runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Os {
    /// Linux (glibc).
    Linux,
    /// macOS.
    Darwin,
    /// Windows.
    Windows,
}

/// A CPU architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// x86-64.
    Amd64,
    /// 64-bit ARM.
    Arm64,
}

/// A platform: one vocabulary for the manifest's SDK name (`linux_amd64`), npm's native
/// directory (`linux-x64`), the wheel tags PyPI serves it with, and whether a Homebrew
/// formula can carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    /// The operating system.
    pub os: Os,
    /// The architecture.
    pub arch: Arch,
}

impl Platform {
    /// Every platform the manifest may name.
    pub const ALL: [Platform; 6] = [
        Platform { os: Os::Linux, arch: Arch::Amd64 },
        Platform { os: Os::Linux, arch: Arch::Arm64 },
        Platform { os: Os::Darwin, arch: Arch::Amd64 },
        Platform { os: Os::Darwin, arch: Arch::Arm64 },
        Platform { os: Os::Windows, arch: Arch::Amd64 },
        Platform { os: Os::Windows, arch: Arch::Arm64 },
    ];

    /// The platform of a manifest `sdk_platform` name, exactly.
    pub fn from_sdk(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.sdk_name() == name)
    }

    /// The manifest's `sdk_platform` name, also the SDK archive suffix: `linux_amd64`.
    pub fn sdk_name(self) -> &'static str {
        match (self.os, self.arch) {
            (Os::Linux, Arch::Amd64) => "linux_amd64",
            (Os::Linux, Arch::Arm64) => "linux_arm64",
            (Os::Darwin, Arch::Amd64) => "darwin_amd64",
            (Os::Darwin, Arch::Arm64) => "darwin_arm64",
            (Os::Windows, Arch::Amd64) => "windows_amd64",
            (Os::Windows, Arch::Arm64) => "windows_arm64",
        }
    }

    /// npm's native directory name (Node's `process.platform`-`process.arch`): `linux-x64`.
    pub fn node_name(self) -> &'static str {
        match (self.os, self.arch) {
            (Os::Linux, Arch::Amd64) => "linux-x64",
            (Os::Linux, Arch::Arm64) => "linux-arm64",
            (Os::Darwin, Arch::Amd64) => "darwin-x64",
            (Os::Darwin, Arch::Arm64) => "darwin-arm64",
            (Os::Windows, Arch::Amd64) => "win32-x64",
            (Os::Windows, Arch::Arm64) => "win32-arm64",
        }
    }

    /// Whether a Homebrew formula can carry it (macOS, and Linux on x86-64).
    pub fn homebrew(self) -> bool {
        matches!((self.os, self.arch), (Os::Darwin, _) | (Os::Linux, Arch::Amd64))
    }

    /// True when a wheel platform tag (possibly a compressed `a.b` set) serves this platform:
    /// `macosx_*_x86_64`/`_arm64` (or `_universal2`), `win_amd64`/`win_arm64`,
    /// `manylinux*_x86_64`/`_aarch64` (or plain `linux_*`).
    pub fn served_by_wheel(self, platform_tags: &str) -> bool {
        platform_tags.split('.').any(|tag| match (self.os, self.arch) {
            (Os::Darwin, arch) => {
                let cpu = if arch == Arch::Amd64 { "_x86_64" } else { "_arm64" };
                tag.starts_with("macosx_") && (tag.ends_with(cpu) || tag.ends_with("_universal2"))
            }
            (Os::Windows, Arch::Amd64) => tag == "win_amd64",
            (Os::Windows, Arch::Arm64) => tag == "win_arm64",
            (Os::Linux, arch) => {
                let cpu = if arch == Arch::Amd64 { "x86_64" } else { "aarch64" };
                (tag.starts_with("manylinux") && tag.ends_with(&format!("_{cpu}"))) || tag == format!("linux_{cpu}")
            }
        })
    }
}

const TARGET_KEYS: [&str; 8] =
    ["rust_target", "runner", "sdk_platform", "node_platform", "build_sdk", "upload_sdist", "upload_wheel", "channels"];

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Always 1.
    pub schema_version: u64,
    /// Targets in manifest order (the order of build matrices and channel lists).
    pub targets: Vec<Target>,
}

/// One native target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Rust triple.
    pub rust_target: String,
    /// GitHub Actions runner label.
    pub runner: String,
    /// Suffix of SDK archive names (`linux_amd64`).
    pub sdk_platform: String,
    /// npm native directory (`linux-x64`).
    pub node_platform: String,
    /// The platform both names stand for.
    #[serde(skip)]
    pub platform: Platform,
    /// Whether an SDK archive is built.
    pub build_sdk: bool,
    /// Whether the Python sdist is uploaded from this target.
    pub upload_sdist: bool,
    /// Whether a Python wheel is uploaded from this target.
    pub upload_wheel: bool,
    /// Tier per channel; `None` when the target is not in the channel. Written with the
    /// manifest's keys, in their alphabetical order.
    #[serde(serialize_with = "by_key")]
    pub channels: BTreeMap<Channel, Option<Tier>>,
}

/// A target's tier in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Supported: verified after every release.
    Official,
    /// Published but not promised.
    Preview,
}

impl Tier {
    /// Parses `official` or `preview`.
    pub fn parse(text: &str) -> anyhow::Result<Tier> {
        match text {
            "official" => Ok(Tier::Official),
            "preview" => Ok(Tier::Preview),
            _ => bail!("tier must be `official` or `preview`, not `{text}`"),
        }
    }
}

impl Target {
    /// The tier of this target in `channel`.
    pub fn tier(&self, channel: Channel) -> Option<Tier> {
        self.channels.get(&channel).copied().flatten()
    }

    /// A field by name, as text: strings as they are, booleans as `true`/`false`
    /// (`false` is a value, not "absent": bug 13), channels as `channels.<name>`.
    pub fn field(&self, name: &str) -> anyhow::Result<String> {
        Ok(match name {
            "rust_target" => self.rust_target.clone(),
            "runner" => self.runner.clone(),
            "sdk_platform" => self.sdk_platform.clone(),
            "node_platform" => self.node_platform.clone(),
            "build_sdk" => self.build_sdk.to_string(),
            "upload_sdist" => self.upload_sdist.to_string(),
            "upload_wheel" => self.upload_wheel.to_string(),
            _ => match name.strip_prefix("channels.") {
                Some(key) if Channel::from_key(key).is_ok() => {
                    match Channel::from_key(key).ok().and_then(|c| self.tier(c)) {
                        Some(Tier::Official) => "official".into(),
                        Some(Tier::Preview) => "preview".into(),
                        None => "null".into(),
                    }
                }
                _ => bail!("unknown field `{name}`: one of {}, or channels.<channel>", TARGET_KEYS[..7].join(", ")),
            },
        })
    }
}

impl Manifest {
    /// Targets whose tier in `channel` is `tier`, in manifest order.
    pub fn in_channel(&self, channel: Channel, tier: Tier) -> anyhow::Result<Vec<&Target>> {
        if channel.key().is_none() {
            bail!("unknown channel `{channel}`: one of {}", manifest_keys());
        }
        Ok(self.targets.iter().filter(|t| t.tier(channel) == Some(tier)).collect())
    }
}

/// Reads and validates the manifest at `path` (relative paths are shown as given).
pub fn load(path: &Utf8Path, shown_as: &str) -> anyhow::Result<Manifest> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{shown_as}: cannot read the targets manifest: {e}"))?;
    parse(shown_as, &text)
}

/// Parses and validates manifest text; every broken rule is listed in the error, one per line.
pub fn parse(file: &str, text: &str) -> anyhow::Result<Manifest> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let message = format!("{file}:{}:{}: invalid JSON: {e}", e.line(), e.column());
        crate::policy::ConfigError::at(file, Some(e.line()), message)
    })?;
    let mut problems = Vec::new();
    let manifest = validate(&value, &mut problems);
    match manifest {
        Some(m) if problems.is_empty() => Ok(m),
        _ => bail!("{file}: invalid targets manifest:\n  - {}", problems.join("\n  - ")),
    }
}

fn validate(value: &Value, problems: &mut Vec<String>) -> Option<Manifest> {
    let Some(top) = value.as_object() else {
        problems.push("the manifest must be a JSON object".into());
        return None;
    };
    for key in top.keys().filter(|k| !["schema_version", "targets"].contains(&k.as_str())) {
        problems.push(format!("unknown top-level key `{key}`"));
    }
    let schema_version = top.get("schema_version").and_then(Value::as_u64);
    if schema_version != Some(1) {
        problems.push(format!("schema_version must be 1, found {}", show(top.get("schema_version"))));
    }
    let targets = match top.get("targets").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list,
        _ => {
            problems.push(format!("targets must be a non-empty array, found {}", show(top.get("targets"))));
            return None;
        }
    };
    let mut out = Vec::new();
    for (i, raw) in targets.iter().enumerate() {
        if let Some(t) = validate_target(i, raw, problems) {
            out.push(t);
        }
    }
    for field in ["rust_target", "sdk_platform", "node_platform"] {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, t) in out.iter().enumerate() {
            // Fields were validated as strings above, so `field` cannot fail here.
            let v = t.field(field).unwrap_or_default();
            if let Some(first) = seen.insert(v.clone(), i) {
                problems.push(format!("targets[{i}] ({}): {field} `{v}` repeats targets[{first}]", t.rust_target));
            }
        }
    }
    let sdists: Vec<&str> = out.iter().filter(|t| t.upload_sdist).map(|t| t.rust_target.as_str()).collect();
    if sdists.len() > 1 {
        problems.push(format!(
            "upload_sdist is true on {} targets ({}): the sdist is one file, upload it once",
            sdists.len(),
            sdists.join(", ")
        ));
    }
    (out.len() == targets.len()).then_some(Manifest { schema_version: 1, targets: out })
}

fn validate_target(i: usize, raw: &Value, problems: &mut Vec<String>) -> Option<Target> {
    let Some(obj) = raw.as_object() else {
        problems.push(format!("targets[{i}]: must be an object, found {raw}"));
        return None;
    };
    let name = obj.get("rust_target").and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or("?");
    let at = format!("targets[{i}] ({name})");
    let before = problems.len();
    for key in obj.keys().filter(|k| !TARGET_KEYS.contains(&k.as_str())) {
        problems.push(format!("{at}: unknown key `{key}`"));
    }
    let string = |key: &str, problems: &mut Vec<String>| match obj.get(key).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => s.to_string(),
        _ => {
            problems.push(format!("{at}: {key} must be a non-empty string, found {}", show(obj.get(key))));
            String::new()
        }
    };
    let boolean = |key: &str, problems: &mut Vec<String>| match obj.get(key) {
        Some(Value::Bool(b)) => *b,
        other => {
            problems.push(format!("{at}: {key} must be true or false, found {}", show(other)));
            false
        }
    };
    let rust_target = string("rust_target", problems);
    let runner = string("runner", problems);
    let sdk_platform = string("sdk_platform", problems);
    let node_platform = string("node_platform", problems);
    let build_sdk = boolean("build_sdk", problems);
    let upload_sdist = boolean("upload_sdist", problems);
    let upload_wheel = boolean("upload_wheel", problems);
    let channels = channels(&at, obj.get("channels"), problems);
    let tier = |ch: Channel| channels.get(&ch).copied().flatten();
    let platform = Platform::from_sdk(&sdk_platform);
    match platform {
        None if !sdk_platform.is_empty() => {
            let known: Vec<&str> = Platform::ALL.iter().map(|p| p.sdk_name()).collect();
            problems.push(format!("{at}: sdk_platform `{sdk_platform}` is not one of {}", known.join(", ")));
        }
        Some(p) if !node_platform.is_empty() && node_platform != p.node_name() => problems.push(format!(
            "{at}: node_platform `{node_platform}` is not the npm name of sdk_platform `{sdk_platform}` (`{}`)",
            p.node_name()
        )),
        _ => {}
    }

    if tier(Channel::Github).is_some() != build_sdk {
        problems.push(format!(
            "{at}: channels.github_sdk is {} but build_sdk is {build_sdk}: an SDK channel needs an SDK build and the other way round",
            show_tier(tier(Channel::Github))
        ));
    }
    if tier(Channel::Homebrew).is_some() {
        if !build_sdk {
            problems.push(format!(
                "{at}: channels.homebrew is {} but build_sdk is false",
                show_tier(tier(Channel::Homebrew))
            ));
        }
        if let Some(p) = platform
            && !p.homebrew()
        {
            let homebrew: Vec<&str> = Platform::ALL.iter().filter(|p| p.homebrew()).map(|p| p.sdk_name()).collect();
            problems.push(format!(
                "{at}: channels.homebrew is set but sdk_platform `{sdk_platform}` is not one of {}",
                homebrew.join(", ")
            ));
        }
    }
    if tier(Channel::CargoBinstall).is_some() && !build_sdk {
        problems.push(format!(
            "{at}: channels.cargo_binstall is {} but build_sdk is false",
            show_tier(tier(Channel::CargoBinstall))
        ));
    }
    if tier(Channel::Pypi).is_some() != upload_wheel {
        problems.push(format!(
            "{at}: channels.pypi is {} but upload_wheel is {upload_wheel}: a PyPI target ships a wheel and a wheel is shipped to PyPI",
            show_tier(tier(Channel::Pypi))
        ));
    }
    let platform = platform?;
    (problems.len() == before).then_some(Target {
        rust_target,
        runner,
        sdk_platform,
        node_platform,
        platform,
        build_sdk,
        upload_sdist,
        upload_wheel,
        channels,
    })
}

fn channels(at: &str, raw: Option<&Value>, problems: &mut Vec<String>) -> BTreeMap<Channel, Option<Tier>> {
    let mut out = BTreeMap::new();
    let Some(obj): Option<&Map<String, Value>> = raw.and_then(Value::as_object) else {
        problems.push(format!("{at}: channels must be an object with keys {}, found {}", manifest_keys(), show(raw)));
        return out;
    };
    for key in obj.keys().filter(|k| Channel::from_key(k).is_err()) {
        problems.push(format!("{at}: channels has unknown key `{key}`"));
    }
    for channel in Channel::MANIFEST {
        // Invariant: every channel of Channel::MANIFEST has a key.
        let Some(ch) = channel.key() else { continue };
        let tier = match obj.get(ch) {
            None => {
                problems.push(format!("{at}: channels.{ch} is missing (write null if the target is not in it)"));
                None
            }
            Some(Value::Null) => None,
            Some(Value::String(s)) if s == "official" => Some(Tier::Official),
            Some(Value::String(s)) if s == "preview" => Some(Tier::Preview),
            Some(other) => {
                problems.push(format!("{at}: channels.{ch} must be null, \"official\" or \"preview\", found {other}"));
                None
            }
        };
        out.insert(channel, tier);
    }
    out
}

/// Writes a target's channels as the manifest has them: keyed by [`Channel::key`], sorted.
fn by_key<S: serde::Serializer>(channels: &BTreeMap<Channel, Option<Tier>>, to: S) -> Result<S::Ok, S::Error> {
    let keyed: BTreeMap<&str, &Option<Tier>> = channels.iter().filter_map(|(c, t)| c.key().map(|k| (k, t))).collect();
    serde::Serialize::serialize(&keyed, to)
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "nothing".to_string(), Value::to_string)
}

fn show_tier(t: Option<Tier>) -> &'static str {
    match t {
        Some(Tier::Official) => "\"official\"",
        Some(Tier::Preview) => "\"preview\"",
        None => "null",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        serde_json::from_str(&crate::testing::plasmite::targets_json()).unwrap()
    }

    fn check(v: &Value) -> Result<Manifest, String> {
        parse("release/targets.json", &v.to_string()).map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn sample_lists() {
        let m = check(&sample()).unwrap();
        let list = |ch, tier, field| {
            m.in_channel(Channel::from_key(ch).unwrap(), tier)
                .unwrap()
                .iter()
                .map(|t| t.field(field).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(list("homebrew", Tier::Official, "sdk_platform"), ["linux_amd64", "darwin_amd64", "darwin_arm64"]);
        assert_eq!(
            list("pypi", Tier::Official, "rust_target"),
            ["x86_64-apple-darwin", "aarch64-apple-darwin", "x86_64-pc-windows-msvc"]
        );
        assert_eq!(list("cargo_binstall", Tier::Preview, "sdk_platform").len(), 3);
        assert_eq!(list("npm", Tier::Official, "node_platform").len(), 4);
        // Bug 13: `false` is a value.
        assert_eq!(list("npm", Tier::Official, "build_sdk"), ["true", "true", "true", "false"]);
        assert_eq!(m.targets[3].field("channels.homebrew").unwrap(), "null");
        assert!(m.targets[0].field("nope").is_err());
        assert!(
            Channel::from_key("brew")
                .unwrap_err()
                .to_string()
                .contains("github_sdk, homebrew, npm, pypi, cargo_binstall")
        );
        assert!(m.in_channel(Channel::Crates, Tier::Official).is_err());
    }

    #[test]
    fn each_broken_rule_is_named() {
        type Breaker = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Breaker, &str)> = vec![
            (Box::new(|v| v["schema_version"] = 2.into()), "schema_version must be 1"),
            (Box::new(|v| v["targets"] = serde_json::json!([])), "targets must be a non-empty array"),
            (Box::new(|v| v["extra"] = 1.into()), "unknown top-level key `extra`"),
            (
                Box::new(|v| {
                    v["targets"][1].as_object_mut().unwrap().remove("runner");
                }),
                "targets[1] (x86_64-apple-darwin): runner must be a non-empty string",
            ),
            (
                Box::new(|v| v["targets"][0]["build_sdk"] = "yes".into()),
                "targets[0] (x86_64-unknown-linux-gnu): build_sdk must be true or false",
            ),
            (
                Box::new(|v| v["targets"][3]["channels"]["homebrew"] = "official".into()),
                "targets[3] (x86_64-pc-windows-msvc): channels.homebrew is \"official\" but build_sdk is false",
            ),
            (
                Box::new(|v| v["targets"][3]["channels"]["github_sdk"] = "preview".into()),
                "channels.github_sdk is \"preview\" but build_sdk is false",
            ),
            (
                Box::new(|v| v["targets"][0]["channels"]["npm"] = "beta".into()),
                "channels.npm must be null, \"official\" or \"preview\"",
            ),
            (
                Box::new(|v| {
                    v["targets"][0]["channels"].as_object_mut().unwrap().remove("pypi");
                }),
                "channels.pypi is missing",
            ),
            (Box::new(|v| v["targets"][0]["channels"]["snap"] = Value::Null), "channels has unknown key `snap`"),
            (Box::new(|v| v["targets"][0]["color"] = "red".into()), "unknown key `color`"),
            (
                Box::new(|v| {
                    let first = v["targets"][0].clone();
                    v["targets"].as_array_mut().unwrap().push(first);
                }),
                "rust_target `x86_64-unknown-linux-gnu` repeats targets[0]",
            ),
            (Box::new(|v| v["targets"][1]["upload_sdist"] = true.into()), "upload_sdist is true on 2 targets"),
            (
                Box::new(|v| v["targets"][1]["upload_wheel"] = false.into()),
                "channels.pypi is \"official\" but upload_wheel is false",
            ),
            (Box::new(|v| v["targets"][0]["cargo_binstall"] = Value::Null), "unknown key `cargo_binstall`"),
        ];
        for (break_it, expected) in cases {
            let mut v = sample();
            break_it(&mut v);
            let e = check(&v).unwrap_err();
            assert!(e.contains(expected), "expected {expected:?} in:\n{e}");
        }
    }

    #[test]
    fn all_problems_reported_at_once() {
        let mut v = sample();
        v["schema_version"] = 3.into();
        v["targets"][2]["runner"] = "".into();
        let e = check(&v).unwrap_err();
        assert_eq!(e.lines().filter(|l| l.starts_with("  - ")).count(), 2, "{e}");
    }

    #[test]
    fn one_platform_names_every_form_of_itself() {
        for p in Platform::ALL {
            assert_eq!(Platform::from_sdk(p.sdk_name()), Some(p));
        }
        let mac = Platform::from_sdk("darwin_arm64").unwrap();
        assert_eq!(mac.node_name(), "darwin-arm64");
        assert!(
            mac.homebrew() && mac.served_by_wheel("macosx_11_0_arm64") && !mac.served_by_wheel("macosx_11_0_x86_64")
        );
        let win = Platform::from_sdk("windows_amd64").unwrap();
        assert_eq!(win.node_name(), "win32-x64");
        assert!(!win.homebrew() && !Platform::from_sdk("linux_arm64").unwrap().homebrew());
        assert_eq!(Platform::from_sdk("linux-x64"), None, "the npm name is not the SDK name");

        let mut v = sample();
        v["targets"][0]["node_platform"] = "linux-arm64".into();
        let e = check(&v).unwrap_err();
        assert!(e.contains("node_platform `linux-arm64` is not the npm name of sdk_platform `linux_amd64`"), "{e}");
        let mut v = sample();
        v["targets"][0]["sdk_platform"] = "linux_riscv64".into();
        assert!(check(&v).unwrap_err().contains("sdk_platform `linux_riscv64` is not one of"));
    }

    #[test]
    fn a_new_preview_linux_arm_target_is_accepted() {
        let mut v = sample();
        let mut arm = v["targets"][0].clone();
        arm["rust_target"] = "aarch64-unknown-linux-gnu".into();
        arm["runner"] = "ubuntu-24.04-arm".into();
        arm["sdk_platform"] = "linux_arm64".into();
        arm["node_platform"] = "linux-arm64".into();
        arm["upload_sdist"] = false.into();
        arm["channels"] = serde_json::json!({"github_sdk": "preview", "homebrew": null, "npm": null, "pypi": null, "cargo_binstall": null});
        v["targets"].as_array_mut().unwrap().push(arm);
        let m = check(&v).unwrap();
        assert_eq!(m.in_channel(Channel::Github, Tier::Preview).unwrap()[0].sdk_platform, "linux_arm64");
    }

    #[test]
    fn syntax_error_names_line() {
        let e = parse("release/targets.json", "{\n  \"schema_version\": 1,\n  \"targets\": [,]\n}").unwrap_err();
        assert!(format!("{e:#}").starts_with("release/targets.json:3:"), "{e:#}");
    }
}
