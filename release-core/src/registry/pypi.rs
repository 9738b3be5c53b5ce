//! PyPI: the release's files (PEP 440 form): the sdist when the manifest uploads one, a wheel
//! for every pypi-official target, nothing yanked, and the project's current version, all from
//! one answer, the project JSON (`/pypi/<name>/json`); with `--deep`, each file's SHA-256.
//! Where that answer says two things (its `urls` and `releases` disagree, two keys name the
//! release) the channel is `Incomplete`, never a missing release.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Probe, Standing, no_endpoint};
use crate::{
    fetch::{self, Absent, Fetched, url_evidence},
    manifest::Tier,
    report::CheckId,
    report::Finding,
    target::ReleaseTarget,
};

const CHECK: CheckId = CheckId::VERIFY_PYPI;
/// Check id of the "exact version is published" finding.
pub const PUBLISHED: CheckId = CheckId::VERIFY_PYPI_PUBLISHED;

/// `re.sub(r"[-_.]+", "-", name).lower()`.
pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The distribution name in file names: normalized, with `_` for `-`.
pub fn file_stem(name: &str) -> String {
    normalize(name).replace('-', "_")
}

/// The platform tag part of a wheel file name, when the name is a wheel of `stem`-`version`.
pub fn wheel_platform<'a>(filename: &'a str, stem: &str, version: &str) -> Option<&'a str> {
    let rest = filename.strip_suffix(".whl")?;
    let rest = rest.strip_prefix(&format!("{stem}-{version}-"))?;
    let parts: Vec<&str> = rest.split('-').collect();
    // [build-]python-abi-platform
    (parts.len() == 3 || parts.len() == 4).then(|| parts[parts.len() - 1])
}

/// The project JSON (`/pypi/<name>/json`): everything verification reads, in one answer.
#[derive(Debug, Deserialize)]
struct ProjectJson {
    info: Info,
    /// Every release's files by version. Deprecated by PyPI (still served); a mirror may drop
    /// it, and then only the current release's files (`urls`) are known.
    #[serde(default)]
    releases: Option<BTreeMap<String, Vec<FileJson>>>,
    /// The files of the current release (`info.version`).
    #[serde(default)]
    urls: Vec<FileJson>,
}

#[derive(Debug, Deserialize)]
struct Info {
    version: String,
}

#[derive(Debug, Clone, Deserialize)]
struct FileJson {
    filename: String,
    packagetype: String,
    url: String,
    /// A mirror may leave digests out; then nothing can be compared with a download.
    #[serde(default)]
    digests: Digests,
    #[serde(default)]
    yanked: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Digests {
    #[serde(default)]
    sha256: Option<String>,
}

/// The files of the release `version` in the project JSON, by PEP 440 value (never by text:
/// `0.8.0` is not `10.8.0` or `0.8.01`), or why that cannot be read.
enum Listed<'a> {
    /// The release and its files.
    Files(&'a [FileJson]),
    /// Not among the releases (the count of releases listed).
    Absent(usize),
    /// The document does not say, or says two things (the reason).
    Undecided(String),
}

fn listed<'a>(doc: &'a ProjectJson, target: &ReleaseTarget) -> Listed<'a> {
    let is_target = |key: &str| ReleaseTarget::parse_any(key).is_ok_and(|k| &k == target);
    let Some(releases) = &doc.releases else {
        return if is_target(&doc.info.version) {
            Listed::Files(&doc.urls)
        } else {
            Listed::Undecided(format!(
                "the project JSON has no `releases` (a mirror may leave it out) and its current version is {}, so whether {} is published is not in it",
                doc.info.version,
                target.pep440()
            ))
        };
    };
    let keys: Vec<&String> = releases.keys().filter(|k| is_target(k)).collect();
    let files = match keys.as_slice() {
        [] => return Listed::Absent(releases.len()),
        [key] => &releases[*key],
        more => {
            let keys: Vec<&str> = more.iter().map(|k| k.as_str()).collect();
            return Listed::Undecided(format!("`releases` lists {} as {}", target.pep440(), keys.join(" and ")));
        }
    };
    // The current release is listed twice, in `urls` and in `releases`: they must agree.
    if is_target(&doc.info.version) {
        let set = |fs: &[FileJson]| {
            let mut v: Vec<(String, Option<String>)> =
                fs.iter().map(|f| (f.filename.clone(), f.digests.sha256.clone())).collect();
            v.sort();
            v
        };
        if set(&doc.urls) != set(files) {
            let names = |fs: &[FileJson]| fs.iter().map(|f| f.filename.as_str()).collect::<Vec<_>>().join(", ");
            return Listed::Undecided(format!(
                "the project JSON lists the current release's files twice and they differ: `urls` has [{}], `releases` has [{}]",
                names(&doc.urls),
                names(files)
            ));
        }
    }
    Listed::Files(files)
}

/// Checks the PyPI channel: one request, the project JSON, gives the releases and their files
/// (yanked, digests) and the current version.
pub fn check(probe: &Probe<'_>) -> Vec<Finding> {
    let Some(channel) = &probe.policy.channels.pypi else {
        return vec![Finding::skipped(CHECK, "pypi", "no [channel.pypi] in the policy")];
    };
    let name = &channel.package;
    let version = probe.target.pep440();
    let subject = format!("pypi {name}=={version}");
    let Some(base) = &probe.endpoints.pypi.url else {
        return vec![no_endpoint(probe, &PUBLISHED, &subject, &probe.endpoints.pypi)];
    };
    let url = format!("{}/pypi/{}/json", base.trim_end_matches('/'), normalize(name));
    let absent = format!("project `{name}` is not on PyPI at {base}: no release of it is published there");
    let fetched: Fetched<ProjectJson> = match fetch::get_json(probe.http, &url, "application/json") {
        Ok(fetched) => fetched,
        Err(e) => return vec![e.finding(&PUBLISHED, &subject, Absent::Fail(&absent))],
    };
    let (doc, ev) = (&fetched.doc, fetched.evidence());
    let files = match listed(doc, probe.target) {
        Listed::Files(files) => files,
        Listed::Absent(n) => {
            return vec![
                Finding::fail(PUBLISHED, &subject, format!("release {version} is not on PyPI ({n} releases listed)"))
                    .with(ev),
            ];
        }
        // One service saying two things is not a missing release: re-publishing would not help.
        Listed::Undecided(why) => return vec![Finding::incomplete(PUBLISHED, &subject, why).with(ev)],
    };
    if files.is_empty() {
        return vec![Finding::fail(PUBLISHED, &subject, format!("release {version} is listed with no files")).with(ev)];
    }
    if files.iter().all(|f| f.yanked) {
        return vec![Finding::fail(PUBLISHED, &subject, format!("release {version} is yanked")).with(ev)];
    }
    let mut out =
        vec![Finding::pass(PUBLISHED, &subject, format!("published with {} file(s)", files.len())).with(ev.clone())];
    let stem = file_stem(name);
    let mut expected: Vec<(String, Option<&FileJson>)> = Vec::new();
    if let Some(manifest) = probe.manifest {
        if manifest.targets.iter().any(|t| t.upload_sdist) {
            let sdist = format!("{stem}-{version}.tar.gz");
            let file = files.iter().find(|f| f.packagetype == "sdist" && f.filename == sdist);
            expected.push((format!("sdist {sdist}"), file));
        }
        for t in manifest.in_channel(crate::manifest::Channel::Pypi, Tier::Official).unwrap_or_default() {
            let file = files.iter().find(|f| {
                f.packagetype == "bdist_wheel"
                    && wheel_platform(&f.filename, &stem, version).is_some_and(|p| t.platform.served_by_wheel(p))
            });
            expected.push((format!("wheel for {}", t.sdk_platform), file));
        }
    } else {
        out.push(Finding::skipped(CHECK, &subject, "no targets manifest: expected files not known"));
    }
    for (what, file) in &expected {
        let s = format!("{subject} {what}");
        match file {
            None => out.push(Finding::fail(CHECK, &s, format!("no {what} among the release's files")).with(ev.clone())),
            Some(f) if f.yanked => {
                out.push(Finding::fail(CHECK, &s, format!("{} is yanked", f.filename)).with(ev.clone()))
            }
            Some(f) => {
                let digest = f
                    .digests
                    .sha256
                    .as_deref()
                    .map_or_else(|| "(no sha256 listed)".to_string(), |d| format!("sha256 {d}"));
                out.push(Finding::pass(CHECK, &s, format!("{} {digest}", f.filename)).with(ev.clone()))
            }
        }
    }
    for f in
        files.iter().filter(|f| f.yanked && !expected.iter().any(|(_, e)| e.is_some_and(|e| e.filename == f.filename)))
    {
        out.push(Finding::fail(CHECK, format!("{subject} {}", f.filename), "file is yanked").with(ev.clone()));
    }
    out.push(current(probe, name, doc, &fetched));
    if probe.deep {
        // The files do not need each other: downloaded at the same time (bounded).
        out.extend(crate::parallel::map(files, |f| deep_file(probe, &fetched.url, &subject, f)));
    }
    out
}

/// What `pip install <name>` gets: the project's `info.version`, from the same answer.
fn current(probe: &Probe<'_>, name: &str, doc: &ProjectJson, fetched: &Fetched<ProjectJson>) -> Finding {
    let subject = format!("pypi {name} current version");
    let ev = fetched.evidence();
    let current = doc.info.version.as_str();
    if let Some(releases) = &doc.releases
        && !releases.keys().any(|k| k == current)
    {
        return Finding::incomplete(
            CHECK,
            &subject,
            format!(
                "info.version is {current}, which `releases` does not list: the project JSON disagrees with itself"
            ),
        )
        .with(ev);
    }
    let version = probe.target.pep440();
    let standing = super::standing(current, probe.target);
    if probe.target.is_prerelease() {
        return if standing == Standing::IsDefault {
            Finding::fail(CHECK, &subject, format!("pre-release {version} is the project's current version")).with(ev)
        } else {
            Finding::pass(CHECK, &subject, format!("current version is {current}, not the pre-release")).with(ev)
        };
    }
    match standing {
        Standing::IsDefault => Finding::pass(CHECK, &subject, format!("`pip install {name}` gets {version}")).with(ev),
        Standing::Superseded(v) => {
            Finding::skipped(CHECK, &subject, format!("a newer release {v} is current")).with(ev)
        }
        Standing::Behind(v) => {
            Finding::fail(CHECK, &subject, format!("current version is {v}, not {version}")).with(ev)
        }
    }
}

fn deep_file(probe: &Probe<'_>, doc_url: &str, subject: &str, f: &FileJson) -> Finding {
    let s = format!("{subject} {}", f.filename);
    let url = match crate::http::resolve(doc_url, &f.url) {
        Ok(u) => u,
        Err(e) => return Finding::incomplete(CHECK, &s, format!("{e:#}")),
    };
    let r = match fetch::download(probe.http, &url, false) {
        Ok(r) => r,
        Err(e) => return e.finding(&CHECK, &s, Absent::Fail("file is not downloadable")),
    };
    let ev = url_evidence(&r.url, Some(r.status));
    let got = r.sha256.clone();
    match &f.digests.sha256 {
        Some(want) if got == *want => {
            Finding::pass(CHECK, &s, format!("sha256 {got} equals digests.sha256")).with(ev)
        }
        Some(want) => {
            Finding::fail(CHECK, &s, format!("sha256 of the download is {got}, PyPI says {want}")).with(ev)
        }
        None => Finding::incomplete(
            CHECK,
            &s,
            format!("the project JSON lists no digests.sha256 for {}: the download (sha256 {got}) has nothing to be compared with", f.filename),
        )
        .with(ev),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project JSON shaped like pypi.org's (trimmed from a real answer for plasmite):
    /// `releases` keys in string order, file URLs relative as a cache served them.
    fn project(current: &str, releases: &str, urls: &str) -> ProjectJson {
        let text = format!(
            r#"{{"info": {{"name": "plasmite", "version": "{current}", "requires_python": ">=3.10", "yanked": false,
                "yanked_reason": null, "summary": "Persistent JSON message queues"}},
               "last_serial": 42242261, "releases": {releases}, "urls": {urls}, "vulnerabilities": [],
               "ownership": {{"organization": null, "roles": [{{"role": "Owner", "user": "sandover"}}]}}}}"#
        );
        serde_json::from_str(&text).unwrap()
    }

    fn file(name: &str, sha: &str) -> String {
        format!(
            r#"{{"filename": "{name}", "packagetype": "{}", "python_version": "cp311", "size": 6302963,
                "digests": {{"blake2b_256": "5a3f", "md5": "5a14", "sha256": "{sha}"}},
                "upload_time_iso_8601": "2026-10-14T19:54:12.711086Z",
                "url": "../../packages/packages/5a/3f/{name}", "yanked": false, "yanked_reason": null}}"#,
            if name.ends_with(".whl") { "bdist_wheel" } else { "sdist" }
        )
    }

    #[test]
    fn the_release_is_found_by_pep440_value_and_disagreements_are_undecided() {
        let t = |v: &str| ReleaseTarget::parse(v).unwrap();
        let wheel = file("plasmite-1.2.1-cp311-cp311-macosx_11_0_arm64.whl", &"6".repeat(64));
        let sdist = file("plasmite-1.2.1.tar.gz", &"b".repeat(64));
        let both = format!("[{wheel}, {sdist}]");
        let releases = format!(r#"{{"0.1.13": [], "0.8.0": [], "1.2.0": [], "1.2.1": {both}}}"#);
        let doc = project("1.2.1", &releases, &both);
        assert!(matches!(listed(&doc, &t("1.2.1")), Listed::Files(f) if f.len() == 2));
        // Never by text: 0.1.1 is not 0.1.13, 1.2.10 is not listed.
        assert!(matches!(listed(&doc, &t("0.1.1")), Listed::Absent(4)));
        assert!(matches!(listed(&doc, &t("1.2.10")), Listed::Absent(4)));
        // The current release's files in `urls` and in `releases` differ: undecided.
        let doc = project("1.2.1", &releases, &format!("[{wheel}]"));
        assert!(matches!(listed(&doc, &t("1.2.1")), Listed::Undecided(w) if w.contains("they differ")));
        // Digests differ: undecided too.
        let other = file("plasmite-1.2.1.tar.gz", &"c".repeat(64));
        let doc = project("1.2.1", &releases, &format!("[{wheel}, {other}]"));
        assert!(matches!(listed(&doc, &t("1.2.1")), Listed::Undecided(_)));
        // An older release is read from `releases` alone.
        let doc = project("1.2.1", &releases, "[]");
        assert!(matches!(listed(&doc, &t("0.8.0")), Listed::Files(f) if f.is_empty()));
        // Two keys naming one release.
        let doc = project("1.2.0", &format!(r#"{{"1.2.1": {both}, "v1.2.1": []}}"#), "[]");
        assert!(matches!(listed(&doc, &t("1.2.1")), Listed::Undecided(w) if w.contains("1.2.1 and v1.2.1")));
        // No `releases` (a mirror may drop the deprecated key): only the current release is known.
        let text = format!(r#"{{"info": {{"version": "1.2.1"}}, "urls": {both}}}"#);
        let doc: ProjectJson = serde_json::from_str(&text).unwrap();
        assert!(matches!(listed(&doc, &t("1.2.1")), Listed::Files(f) if f.len() == 2));
        assert!(matches!(listed(&doc, &t("1.2.0")), Listed::Undecided(w) if w.contains("no `releases`")));
        // Pre-releases by their PEP 440 form.
        let doc = project("1.2.1", r#"{"0.9.0rc1": [], "1.2.1": []}"#, "[]");
        assert!(matches!(listed(&doc, &t("0.9.0-rc.1")), Listed::Files(_)));
        // Files without digests are read (the deep check says it cannot compare them).
        let bare = r#"[{"filename": "plasmite-1.2.1.tar.gz", "packagetype": "sdist", "url": "x", "digests": {}}]"#;
        let doc = project("1.2.1", &format!(r#"{{"1.2.1": {bare}}}"#), bare);
        assert!(matches!(listed(&doc, &t("1.2.1")), Listed::Files(f) if f[0].digests.sha256.is_none()));
    }

    #[test]
    fn names() {
        assert_eq!(normalize("My_Tool..x"), "my-tool-x");
        assert_eq!(file_stem("my-tool"), "my_tool");
    }

    #[test]
    fn wheel_tags_map_to_sdk_platforms() {
        let p = |f| wheel_platform(f, "plasmite", "1.2.1").unwrap();
        let wheel_serves =
            |tags: &str, sdk: &str| crate::manifest::Platform::from_sdk(sdk).unwrap().served_by_wheel(tags);
        assert!(wheel_serves(p("plasmite-1.2.1-cp311-cp311-macosx_11_0_arm64.whl"), "darwin_arm64"));
        assert!(!wheel_serves(p("plasmite-1.2.1-cp311-cp311-macosx_11_0_arm64.whl"), "darwin_amd64"));
        assert!(wheel_serves(p("plasmite-1.2.1-cp311-cp311-macosx_10_12_x86_64.whl"), "darwin_amd64"));
        assert!(wheel_serves(p("plasmite-1.2.1-cp311-cp311-win_amd64.whl"), "windows_amd64"));
        assert!(wheel_serves(
            p("plasmite-1.2.1-cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            "linux_amd64"
        ));
        assert!(!wheel_serves("musllinux_1_2_x86_64", "linux_amd64"));
        assert_eq!(wheel_platform("plasmite-1.2.10-cp311-cp311-win_amd64.whl", "plasmite", "1.2.1"), None);
        assert_eq!(wheel_platform("plasmite-1.2.1.tar.gz", "plasmite", "1.2.1"), None);
    }
}
