//! Homebrew: parse a tap formula (version; `url`/`sha256` per platform block, `on_macos` /
//! `on_linux` with `on_arm`/`on_intel` or `if Hardware::CPU.arm?`/`intel?` and `else`), render
//! one for a release, and check it against the release's sums file: version, exact URL and
//! SHA-256 for every homebrew-official platform, and no block for a platform the manifest does
//! not list (bug 18).

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::{Probe, SumLine, asset_name, is_sha256_hex, sum_for};
use crate::{
    fetch::{Absent, FetchError, url_evidence},
    github::GitHub,
    manifest::Tier,
    policy::HomebrewChannel,
    repo::Repo,
    report::CheckId,
    report::{Evidence, Finding, Outcome},
};

const CHECK: CheckId = CheckId::VERIFY_HOMEBREW;
/// Check id of the "formula is at the target version" finding.
pub const PUBLISHED: CheckId = CheckId::VERIFY_HOMEBREW_PUBLISHED;

/// One `url` (with the `sha256` that follows it) inside a platform block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `darwin_arm64`, `darwin_amd64`, `linux_amd64`, `linux_arm64`, or `unknown` (outside any
    /// platform block).
    pub platform: String,
    /// The URL.
    pub url: String,
    /// The sha256, when one follows in the same block.
    pub sha256: Option<String>,
    /// 1-based line of the `url`.
    pub line: usize,
    /// 1-based line of the `sha256`.
    pub sha256_line: Option<usize>,
}

/// A parsed formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formula {
    /// `version "..."`, with its line.
    pub version: Option<(String, usize)>,
    /// Every url entry, in file order.
    pub entries: Vec<Entry>,
    /// A second `version`, or a second `sha256` for one `url`, said with both lines: Ruby
    /// keeps the last where this scanner reads the first, so either reading is a guess.
    pub duplicates: Vec<String>,
    /// Every block opened was closed, the outermost (`class ... < Formula`) last: a formula
    /// cut short ends inside a block.
    pub whole: bool,
}

#[derive(Debug, Clone, Default)]
struct Frame {
    os: Option<&'static str>,
    cpu: Option<&'static str>,
    /// For `if ... CPU.arm?` frames: `else` flips the CPU.
    flips: bool,
}

fn quoted(rest: &str) -> Option<String> {
    let rest = rest.trim_start();
    let inner = rest.strip_prefix('"')?;
    let end = inner.find('"')?;
    Some(inner[..end].to_string())
}

fn cpu_of(line: &str) -> Option<&'static str> {
    if line.contains("CPU.arm?") || line.starts_with("on_arm") {
        Some("arm")
    } else if line.contains("CPU.intel?") || line.starts_with("on_intel") {
        Some("intel")
    } else {
        None
    }
}

fn os_of(line: &str) -> Option<&'static str> {
    if line.starts_with("on_macos") || line.contains("OS.mac?") {
        Some("macos")
    } else if line.starts_with("on_linux") || line.contains("OS.linux?") {
        Some("linux")
    } else {
        None
    }
}

/// Parses formula text with a block-aware line scanner.
pub fn parse(text: &str) -> Formula {
    let mut stack: Vec<Frame> = vec![Frame::default()];
    let mut formula = Formula { version: None, entries: Vec::new(), duplicates: Vec::new(), whole: false };
    let mut opened_class = false;
    let mut unbalanced = false;
    let current = |stack: &[Frame]| {
        let os = stack.iter().rev().find_map(|f| f.os);
        let cpu = stack.iter().rev().find_map(|f| f.cpu);
        match (os, cpu) {
            (Some("macos"), Some("arm")) => "darwin_arm64",
            (Some("macos"), Some("intel")) => "darwin_amd64",
            (Some("linux"), Some("intel")) => "linux_amd64",
            (Some("linux"), Some("arm")) => "linux_arm64",
            _ => "unknown",
        }
        .to_string()
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let n = i + 1;
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let word = line.split_whitespace().next().unwrap_or("");
        let opens = line.ends_with(" do")
            || line.contains(" do |")
            || ["if", "unless", "def", "class", "case", "begin", "module"].contains(&word);
        if opens {
            opened_class |= word == "class";
            let is_if = word == "if" || word == "unless";
            let mut cpu = cpu_of(line);
            if word == "unless" {
                cpu = cpu.map(|c| if c == "arm" { "intel" } else { "arm" });
            }
            stack.push(Frame { os: os_of(line), cpu, flips: is_if && cpu.is_some() });
            continue;
        }
        if word == "else" || word == "elsif" {
            if let Some(top) = stack.last_mut() {
                let next = if word == "elsif" { cpu_of(line) } else { None };
                top.cpu = match (top.flips, next, top.cpu) {
                    (_, Some(c), _) => Some(c),
                    (true, None, Some("arm")) => Some("intel"),
                    (true, None, Some("intel")) => Some("arm"),
                    _ => None,
                };
                top.flips = top.cpu.is_some() && word == "elsif" || top.flips;
                if word == "else" {
                    top.flips = false;
                }
                if word == "elsif" && os_of(line).is_some() {
                    top.os = os_of(line);
                }
            }
            continue;
        }
        if word == "end" {
            if stack.len() > 1 {
                stack.pop();
            } else {
                unbalanced = true;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("version ")
            && stack.len() <= 2
        {
            match &formula.version {
                Some((_, first)) => {
                    formula.duplicates.push(format!("a second `version` on line {n} (first on line {first})"))
                }
                None => formula.version = quoted(rest).map(|v| (v, n)),
            }
        } else if let Some(rest) = line.strip_prefix("url ") {
            if let Some(url) = quoted(rest) {
                formula.entries.push(Entry {
                    platform: current(&stack),
                    url,
                    sha256: None,
                    line: n,
                    sha256_line: None,
                });
            }
        } else if let Some(rest) = line.strip_prefix("sha256 ")
            && let Some(last) = formula.entries.last_mut()
            && last.platform == current(&stack)
        {
            match last.sha256_line {
                Some(first) => formula.duplicates.push(format!(
                    "a second `sha256` for {} on line {n} (first on line {first}, after the url on line {})",
                    last.platform, last.line
                )),
                None => {
                    last.sha256 = quoted(rest);
                    last.sha256_line = Some(n);
                }
            }
        }
    }
    formula.whole = opened_class && !unbalanced && stack.len() == 1;
    formula
}

/// Ruby class name of a formula file stem: `foo-bar` -> `FooBar`, `@` -> `AT`.
pub fn class_name(name: &str) -> String {
    name.replace('@', "AT")
        .split(['-', '_', '.'])
        .map(|part| {
            let mut c = part.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// What a rendered formula needs.
#[derive(Debug, Clone)]
pub struct RenderInput {
    /// Formula name (file stem), e.g. `plasmite`.
    pub name: String,
    /// The `desc` line.
    pub desc: String,
    /// The `license` line (an SPDX expression).
    pub license: String,
    /// Paths inside the SDK archive to install, each into the Homebrew folder of the same name
    /// (`bin/plasmite`); every `bin/` entry is run with `--version` by the formula's test.
    pub install: Vec<String>,
    /// Installed only on macOS (`if OS.mac?` inside `install`).
    pub install_darwin: Vec<String>,
    /// Installed only on Linux.
    pub install_linux: Vec<String>,
    /// The `homepage` line.
    pub homepage: String,
    /// `owner/repo` of the project.
    pub repo: String,
    /// GitHub web base (`https://github.com`).
    pub github_web: String,
    /// The version (semver text, pre-releases allowed).
    pub version: String,
    /// platform -> (asset name, sha256), for the homebrew-official platforms.
    pub platforms: BTreeMap<String, (String, String)>,
}

/// The release download URL of an asset.
pub fn download_url(github_web: &str, repo: &str, version: &str, asset: &str) -> String {
    format!("{}/{repo}/releases/download/v{version}/{asset}", github_web.trim_end_matches('/'))
}

/// A Ruby double-quoted string literal of `text`: no interpolation, no escape, one line.
fn ruby_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' | '"' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `bin.install "bin/x"` for `bin/x`; `(lib/"pkgconfig").install "lib/pkgconfig/x.pc"` for a
/// deeper folder.
fn install_line(path: &str) -> String {
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let target = match folder.split_once('/') {
        Some((top, rest)) => format!("({top}/{})", ruby_string(rest)),
        None => folder.to_string(),
    };
    format!("    {target}.install {}\n", ruby_string(path))
}

/// Renders a formula with `on_macos`/`on_linux` and `on_arm`/`on_intel` blocks for exactly the
/// given platforms.
pub fn render(input: &RenderInput) -> String {
    let mut out = String::new();
    let web = input.github_web.trim_end_matches('/');
    out.push_str(&format!("class {} < Formula\n", class_name(&input.name)));
    out.push_str(&format!("  desc {}\n", ruby_string(&input.desc)));
    out.push_str(&format!("  homepage {}\n", ruby_string(&input.homepage)));
    out.push_str(&format!("  version \"{}\"\n", input.version));
    out.push_str(&format!("  license {}\n", ruby_string(&input.license)));
    for (os, block) in [("macos", "on_macos"), ("linux", "on_linux")] {
        let cpus: Vec<(&str, &str)> = [("arm", "on_arm"), ("intel", "on_intel")]
            .into_iter()
            .filter(|(cpu, _)| input.platforms.contains_key(&platform(os, cpu)))
            .collect();
        if cpus.is_empty() {
            continue;
        }
        out.push_str(&format!("\n  {block} do\n"));
        for (cpu, cpu_block) in cpus {
            if let Some((asset, sha)) = input.platforms.get(&platform(os, cpu)) {
                out.push_str(&format!("    {cpu_block} do\n"));
                out.push_str(&format!("      url \"{}\"\n", download_url(web, &input.repo, &input.version, asset)));
                out.push_str(&format!("      sha256 \"{sha}\"\n"));
                out.push_str("    end\n");
            }
        }
        out.push_str("  end\n");
    }
    out.push_str("\n  def install\n");
    for path in &input.install {
        out.push_str(&install_line(path));
    }
    // Per-OS files (bug 22: a Linux archive has a `.so`, not the `.dylib`).
    let branches: Vec<(&str, &Vec<String>)> = [("OS.mac?", &input.install_darwin), ("OS.linux?", &input.install_linux)]
        .into_iter()
        .filter(|(_, paths)| !paths.is_empty())
        .collect();
    for (i, (condition, paths)) in branches.iter().enumerate() {
        out.push_str(&format!("    {} {condition}\n", if i == 0 { "if" } else { "elsif" }));
        for path in paths.iter() {
            out.push_str(&format!("  {}", install_line(path)));
        }
    }
    if !branches.is_empty() {
        out.push_str("    end\n");
    }
    out.push_str("  end\n");
    let programs: Vec<&str> = input.install.iter().filter_map(|p| p.strip_prefix("bin/")).collect();
    if !programs.is_empty() {
        out.push_str("\n  test do\n");
        for program in programs {
            out.push_str(&format!("    assert_match version.to_s, shell_output(\"#{{bin}}/{program} --version\")\n"));
        }
        out.push_str("  end\n");
    }
    out.push_str("end\n");
    out
}

fn platform(os: &str, cpu: &str) -> String {
    match (os, cpu) {
        ("macos", "arm") => "darwin_arm64",
        ("macos", _) => "darwin_amd64",
        (_, "arm") => "linux_arm64",
        _ => "linux_amd64",
    }
    .to_string()
}

/// The render input for a release from a sums file: every homebrew-official platform must
/// have a line. The formula's `desc` and `license` come from `[channel.homebrew]`, else from
/// the `package` table of the root `Cargo.toml` of `repo`; with neither, an error names the
/// policy key to set.
pub fn render_input(probe: &Probe<'_>, repo_dir: &Repo, sums: &[SumLine]) -> anyhow::Result<RenderInput> {
    let (github, repo, manifest) = requirements(probe)?;
    let name = formula_name(probe);
    let channel = probe.policy.channels.homebrew.as_ref();
    let cargo_toml = repo_dir.root_manifest()?;
    let (desc, license) = desc_and_license(channel, cargo_toml.as_ref(), &probe.policy.path)?;
    let install = match channel.map(|c| c.install.clone()) {
        Some(install) if !install.is_empty() => install,
        _ => vec![format!("bin/{name}")],
    };
    let homepage = channel
        .and_then(|c| c.homepage.clone())
        .or_else(|| cargo_toml.as_ref().and_then(|t| package_field(t, "homepage")).map(str::to_string))
        .unwrap_or_else(|| format!("{}/{repo}", probe.github_web()));
    let version = probe.target.version();
    let mut platforms = BTreeMap::new();
    for t in manifest.in_channel(crate::manifest::Channel::Homebrew, Tier::Official)? {
        let asset = asset_name(&github.asset, &version, &t.sdk_platform);
        let line = sum_for(sums, &asset).ok_or_else(|| anyhow::anyhow!("the sums file has no line for {asset}"))?;
        platforms.insert(t.sdk_platform.clone(), (asset, line.sha256.clone()));
    }
    Ok(RenderInput {
        name,
        desc,
        license,
        install,
        install_darwin: channel.map(|c| c.install_darwin.clone()).unwrap_or_default(),
        install_linux: channel.map(|c| c.install_linux.clone()).unwrap_or_default(),
        homepage,
        repo: repo.to_string(),
        github_web: probe.github_web(),
        version,
        platforms,
    })
}

/// A non-empty string `package.<field>` of a `Cargo.toml`, or `workspace.package.<field>` when
/// the package inherits it.
fn package_field<'a>(cargo_toml: &'a toml::Table, field: &str) -> Option<&'a str> {
    let string = |table: Option<&'a toml::Value>| {
        table.and_then(|t| t.get(field)).and_then(|v| v.as_str()).map(str::trim).filter(|v| !v.is_empty())
    };
    string(cargo_toml.get("package")).or_else(|| string(cargo_toml.get("workspace").and_then(|w| w.get("package"))))
}

/// The formula's `desc` and `license`: the policy's, else the root `Cargo.toml`'s; with
/// neither, an error that names the policy key to set.
fn desc_and_license(
    channel: Option<&HomebrewChannel>,
    cargo_toml: Option<&toml::Table>,
    policy_path: &camino::Utf8Path,
) -> anyhow::Result<(String, String)> {
    let pick = |own: Option<&String>, key: &str, field: &str, what: &str| -> anyhow::Result<String> {
        let from_manifest = || cargo_toml.and_then(|t| package_field(t, field)).map(str::to_string);
        own.cloned().or_else(from_manifest).with_context(|| {
            format!(
                "{policy_path}: no {what} for the Homebrew formula: set `{key}` in [channel.homebrew] \
                 (or `package.{field}` in the root Cargo.toml)"
            )
        })
    };
    let desc = pick(channel.and_then(|c| c.desc.as_ref()), "desc", "description", "description")?;
    let license = pick(channel.and_then(|c| c.license.as_ref()), "license", "license", "licence")?;
    Ok((desc, license))
}

fn formula_name(probe: &Probe<'_>) -> String {
    probe
        .policy
        .channels
        .homebrew
        .as_ref()
        .and_then(|h| h.formula_name().map(str::to_string))
        .unwrap_or_else(|| probe.policy.project.name.clone())
}

type Requirements<'a> = (&'a crate::policy::GithubChannel, &'a str, &'a crate::manifest::Manifest);

fn requirements<'a>(probe: &Probe<'a>) -> anyhow::Result<Requirements<'a>> {
    let github = probe
        .policy
        .channels
        .github
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no [channel.github] in the policy (asset names)"))?;
    let repo =
        probe.policy.project.github.as_deref().ok_or_else(|| anyhow::anyhow!("no project.github in the policy"))?;
    let manifest = probe.manifest.ok_or_else(|| anyhow::anyhow!("no targets manifest in the policy"))?;
    Ok((github, repo, manifest))
}

/// Checks formula text against a sums file. `evidence` says where the formula came from.
pub fn check_alignment(probe: &Probe<'_>, text: &str, sums: &[SumLine], evidence: &Evidence) -> Vec<Finding> {
    let version = probe.target.version();
    let subject = "homebrew formula".to_string();
    let (github, repo, manifest) = match requirements(probe) {
        Ok(r) => r,
        Err(e) => return vec![Finding::incomplete(CHECK, &subject, format!("{e:#}"))],
    };
    let formula = parse(text);
    let mut out = Vec::new();
    if !formula.whole {
        out.push(
            Finding::fail(PUBLISHED, &subject, "the formula does not close every block it opens (`class ... end`)")
                .with(evidence.clone()),
        );
    }
    for duplicate in &formula.duplicates {
        out.push(
            Finding::fail(
                CHECK,
                &subject,
                format!("{duplicate}: Ruby keeps the last, so which one users get is a guess"),
            )
            .with(evidence.clone()),
        );
    }
    match &formula.version {
        Some((v, _)) if *v == version => {
            out.push(Finding::pass(PUBLISHED, &subject, format!("version \"{v}\"")).with(evidence.clone()))
        }
        Some((v, line)) => out.push(
            Finding::fail(PUBLISHED, &subject, format!("version \"{v}\" (line {line}), expected \"{version}\""))
                .with(evidence.clone()),
        ),
        None => out.push(Finding::fail(PUBLISHED, &subject, "no `version \"...\"` line").with(evidence.clone())),
    }
    let official: Vec<String> = manifest
        .in_channel(crate::manifest::Channel::Homebrew, Tier::Official)
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.sdk_platform.clone())
        .collect();
    let web = probe.github_web();
    for platform in &official {
        let s = format!("homebrew formula {platform}");
        let asset = asset_name(&github.asset, &version, platform);
        let entries: Vec<&Entry> = formula.entries.iter().filter(|e| &e.platform == platform).collect();
        let [entry] = entries.as_slice() else {
            out.push(
                Finding::fail(
                    CHECK,
                    &s,
                    format!(
                        "{} url block(s) for {platform}{}, expected exactly one",
                        entries.len(),
                        lines_said(entries.iter().map(|e| e.line))
                    ),
                )
                .with(evidence.clone()),
            );
            continue;
        };
        let expected_url = download_url(&web, repo, &version, &asset);
        let mut problems = Vec::new();
        if entry.url != expected_url {
            problems.push(format!("url (line {}) is {}, expected {expected_url}", entry.line, entry.url));
        }
        match (&entry.sha256, sum_for(sums, &asset)) {
            (None, _) => problems.push(format!("no sha256 after the url on line {}", entry.line)),
            (Some(sha), _) if !is_sha256_hex(sha) => {
                problems.push(format!("sha256 \"{sha}\" is not 64 lowercase hex digits"))
            }
            (_, None) => problems.push(format!("the sums file has no line for {asset}")),
            (Some(sha), Some(line)) if *sha != line.sha256 => {
                problems.push(format!("sha256 {sha} differs from the sums file ({})", line.sha256))
            }
            _ => {}
        }
        if problems.is_empty() {
            out.push(Finding::pass(CHECK, &s, format!("url and sha256 match {asset}")).with(evidence.clone()));
        } else {
            out.push(Finding::fail(CHECK, &s, problems.join("; ")).with(evidence.clone()));
        }
    }
    for e in formula.entries.iter().filter(|e| !official.contains(&e.platform)) {
        out.push(
            Finding::fail(
                CHECK,
                format!("homebrew formula {}", e.platform),
                format!(
                    "url block on line {} is for a platform that is not homebrew-official in the targets manifest: {}",
                    e.line, e.url
                ),
            )
            .with(evidence.clone()),
        );
    }
    out
}

/// ` (lines 3, 9)` for the lines of several entries, nothing for none.
fn lines_said(lines: impl Iterator<Item = usize>) -> String {
    let lines: Vec<String> = lines.map(|l| l.to_string()).collect();
    if lines.is_empty() { String::new() } else { format!(" (lines {})", lines.join(", ")) }
}

/// Why the formula could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormulaError {
    /// The policy has no `[channel.homebrew]`.
    NoChannel,
    /// The local formula (`--formula`) could not be read.
    Local {
        /// The formula's path in the tap (the subject).
        formula: String,
        /// The local file.
        path: String,
        /// Why.
        why: String,
    },
    /// Reading it from the tap failed (absent: it is not in the tap).
    Fetch {
        /// The formula's path in the tap.
        formula: String,
        /// Why.
        error: FetchError,
    },
    /// The tap answered with something that is not a formula.
    NotAFormula {
        /// The formula's path in the tap.
        formula: String,
        /// Where.
        url: String,
        /// Its status.
        status: u16,
    },
    /// The tap answered with a formula that ends inside a block: cut short on the way (the
    /// raw contents carry no size to tell), so it decides nothing.
    Unfinished {
        /// The formula's path in the tap.
        formula: String,
        /// Where.
        url: String,
        /// Its status.
        status: u16,
    },
}

impl FormulaError {
    /// The finding saying why the formula could not be checked.
    pub fn finding(&self) -> Finding {
        let subject = |formula: &str| format!("homebrew {formula}");
        match self {
            FormulaError::NoChannel => Finding::skipped(CHECK, "homebrew", "no [channel.homebrew] in the policy"),
            FormulaError::Local { formula, path, why } => {
                Finding::incomplete(PUBLISHED, subject(formula), format!("cannot read {path}: {why}"))
            }
            FormulaError::Fetch { formula, error } => {
                error.finding(&PUBLISHED, &subject(formula), Absent::Fail("the formula is not in the tap"))
            }
            FormulaError::NotAFormula { formula, url, status } => Finding::incomplete(
                PUBLISHED,
                subject(formula),
                "the tap answered with something that is not a formula",
            )
            .with(url_evidence(url, Some(*status))),
            FormulaError::Unfinished { formula, url, status } => Finding::incomplete(
                PUBLISHED,
                subject(formula),
                "the tap's formula ends inside a block: not read whole (cut short), or broken in the tap",
            )
            .with(url_evidence(url, Some(*status))),
        }
    }
}

/// The formula text and where it came from: `probe.formula` when set, else the tap's file
/// through the GitHub contents API (raw).
pub fn fetch_formula(probe: &Probe<'_>) -> Result<(String, Evidence), FormulaError> {
    let channel = probe.policy.channels.homebrew.as_ref().ok_or(FormulaError::NoChannel)?;
    let formula = channel.formula.clone();
    if let Some(path) = probe.formula {
        return match std::fs::read_to_string(path) {
            Ok(t) => Ok((t, Evidence::file(path.as_str()))),
            Err(e) => Err(FormulaError::Local { formula, path: path.to_string(), why: e.to_string() }),
        };
    }
    let tap = GitHub::new(probe.http, probe.http.github_api(), &channel.tap);
    let r = match tap.contents_raw(&channel.formula) {
        Ok(r) => r,
        Err(error) => return Err(FormulaError::Fetch { formula, error }),
    };
    let ev = url_evidence(&r.url, Some(r.status));
    match String::from_utf8(r.body) {
        Ok(t) if t.contains("< Formula") && !parse(&t).whole => {
            Err(FormulaError::Unfinished { formula, url: r.url, status: r.status })
        }
        Ok(t) if t.contains("< Formula") => Ok((t, ev)),
        _ => Err(FormulaError::NotAFormula { formula, url: r.url, status: r.status }),
    }
}

/// Checks the Homebrew channel: the formula (local with `--formula`, else the tap's on GitHub)
/// against the GitHub release's sums file.
pub fn check(probe: &Probe<'_>) -> Vec<Finding> {
    // The formula and the release do not need each other: asked for at the same time.
    let (formula, release) = crate::parallel::join(|| fetch_formula(probe), || super::github::release(probe));
    let (text, evidence) = match formula {
        Ok(x) => x,
        Err(e) => return vec![e.finding()],
    };
    // The release is only the way to the sums file here: its absence leaves the formula
    // unchecked (`Incomplete`), it does not fail this channel.
    let release = match release {
        Ok((r, _)) => r,
        Err(e) => {
            let prefix = "cannot read the sums file to check the formula: ";
            return vec![e.finding(&CHECK, &probe.target.tag(), Outcome::Incomplete, prefix)];
        }
    };
    let sums = match super::github::sums(probe, &release) {
        Ok((s, _)) => s,
        Err(e) => return vec![e.finding(&CHECK, probe.policy, &release)],
    };
    check_alignment(probe, &text, &sums, &evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLASMITE_STYLE: &str = r#"class Plasmite < Formula
  desc "x"
  version "1.2.1"
  on_macos do
    if Hardware::CPU.arm?
      url "https://github.com/o/r/releases/download/v1.2.1/p_1.2.1_darwin_arm64.tar.gz"
      sha256 "aaaa"
    else
      url "https://github.com/o/r/releases/download/v1.2.1/p_1.2.1_darwin_amd64.tar.gz"
      sha256 "bbbb"
    end
  end
  on_linux do
    if Hardware::CPU.intel?
      url "https://github.com/o/r/releases/download/v1.2.1/p_1.2.1_linux_amd64.tar.gz"
      sha256 "cccc"
    else
      odie "x86_64 only"
    end
  end
  def install
    bin.install "bin/plasmite"
  end
end
"#;

    #[test]
    fn parses_if_else_blocks() {
        let f = parse(PLASMITE_STYLE);
        assert_eq!(f.version, Some(("1.2.1".into(), 3)));
        let got: Vec<(&str, Option<&str>)> =
            f.entries.iter().map(|e| (e.platform.as_str(), e.sha256.as_deref())).collect();
        assert_eq!(
            got,
            [("darwin_arm64", Some("aaaa")), ("darwin_amd64", Some("bbbb")), ("linux_amd64", Some("cccc"))]
        );
    }

    #[test]
    fn render_round_trips_through_parse_with_prereleases() {
        let mut platforms = BTreeMap::new();
        for p in ["darwin_amd64", "darwin_arm64", "linux_amd64"] {
            platforms.insert(p.to_string(), (format!("plasmite_0.9.0-rc.1_{p}.tar.gz"), "d".repeat(64)));
        }
        let text = render(&RenderInput {
            name: "plasmite".into(),
            desc: "Persistent JSON message queues".into(),
            license: "MIT".into(),
            install: vec!["bin/plasmite".into()],
            install_darwin: Vec::new(),
            install_linux: Vec::new(),
            homepage: "https://github.com/o/r".into(),
            repo: "o/r".into(),
            github_web: "https://github.com/".into(),
            version: "0.9.0-rc.1".into(),
            platforms,
        });
        let f = parse(&text);
        assert_eq!(f.version.unwrap().0, "0.9.0-rc.1");
        let mut got: Vec<&str> = f.entries.iter().map(|e| e.platform.as_str()).collect();
        got.sort();
        assert_eq!(got, ["darwin_amd64", "darwin_arm64", "linux_amd64"]);
        assert!(f.entries.iter().all(|e| e.url.contains("/download/v0.9.0-rc.1/plasmite_0.9.0-rc.1_")));
        assert!(f.entries.iter().all(|e| e.sha256.as_deref() == Some(&"d".repeat(64)[..])));
        assert!(text.starts_with("class Plasmite < Formula"));
    }

    #[test]
    fn render_takes_desc_licence_and_install_lines_from_its_input() {
        let text = render(&RenderInput {
            name: "demo".into(),
            desc: "A \"quoted\" #{tool}".into(),
            license: "Apache-2.0".into(),
            install: vec!["bin/demo".into(), "bin/dm".into(), "lib/pkgconfig/demo.pc".into()],
            install_darwin: vec!["lib/libdemo.dylib".into()],
            install_linux: vec!["lib/libdemo.so".into()],
            homepage: "https://demo.example".into(),
            repo: "o/r".into(),
            github_web: "https://github.com".into(),
            version: "1.0.0".into(),
            platforms: BTreeMap::new(),
        });
        assert!(text.contains("  desc \"A \\\"quoted\\\" \\#{tool}\"\n"), "{text}");
        assert!(text.contains("  license \"Apache-2.0\"\n"), "{text}");
        assert!(text.contains("    bin.install \"bin/demo\"\n    bin.install \"bin/dm\"\n"), "{text}");
        assert!(text.contains("    (lib/\"pkgconfig\").install \"lib/pkgconfig/demo.pc\"\n"), "{text}");
        assert!(text.contains("shell_output(\"#{bin}/dm --version\")"), "{text}");
        assert!(!text.contains("Persistent JSON") && !text.contains("MIT"), "{text}");
        // Bug 22: the shared library by operating system, never the .dylib on Linux.
        assert!(
            text.contains(
                "    if OS.mac?\n      lib.install \"lib/libdemo.dylib\"\n    elsif OS.linux?\n      lib.install \"lib/libdemo.so\"\n    end\n  end\n"
            ),
            "{text}"
        );
        assert!(text.contains("  homepage \"https://demo.example\"\n"), "{text}");
    }

    #[test]
    fn desc_and_licence_come_from_the_policy_else_cargo_toml_else_an_error_naming_the_key() {
        let policy = camino::Utf8Path::new("release/policy.toml");
        let channel = |desc: Option<&str>, license: Option<&str>| HomebrewChannel {
            tap: "o/homebrew-tap".into(),
            formula: "Formula/demo.rb".into(),
            desc: desc.map(str::to_string),
            license: license.map(str::to_string),
            install: Vec::new(),
            install_darwin: Vec::new(),
            install_linux: Vec::new(),
            homepage: None,
        };
        let cargo: toml::Table = toml::from_str(
            "[package]\nname = \"demo\"\ndescription = \"From Cargo\"\nlicense = \"MIT OR Apache-2.0\"\n",
        )
        .unwrap();
        let both = channel(Some("From policy"), Some("MIT"));
        assert_eq!(desc_and_license(Some(&both), Some(&cargo), policy).unwrap(), ("From policy".into(), "MIT".into()));
        let neither = channel(None, None);
        assert_eq!(
            desc_and_license(Some(&neither), Some(&cargo), policy).unwrap(),
            ("From Cargo".into(), "MIT OR Apache-2.0".into())
        );
        let workspace: toml::Table =
            toml::from_str("[workspace.package]\nlicense = \"MIT\"\n[package]\nlicense.workspace = true\n").unwrap();
        let e = format!("{:#}", desc_and_license(Some(&neither), Some(&workspace), policy).unwrap_err());
        assert!(
            e.starts_with("release/policy.toml: no description") && e.contains("set `desc` in [channel.homebrew]"),
            "{e}"
        );
        let only_desc = channel(Some("d"), None);
        assert_eq!(desc_and_license(Some(&only_desc), Some(&workspace), policy).unwrap().1, "MIT");
        let e = format!("{:#}", desc_and_license(Some(&only_desc), None, policy).unwrap_err());
        assert!(e.contains("no licence") && e.contains("set `license` in [channel.homebrew]"), "{e}");
    }

    #[test]
    fn class_names() {
        assert_eq!(class_name("foo-bar"), "FooBar");
        assert_eq!(class_name("node@20"), "NodeAT20");
    }
}
