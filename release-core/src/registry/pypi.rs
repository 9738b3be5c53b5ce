//! PyPI: the release's files (PEP 440 form): the sdist when the manifest uploads one, a wheel
//! for every pypi-official target, nothing yanked, and the project's current version; with
//! `--deep`, each file's SHA-256.

use serde::Deserialize;

use super::{Probe, Standing, no_endpoint};
use crate::{
    fetch::{self, Absent, Fetched, url_evidence},
    manifest::Tier,
    report::CheckId,
    report::Finding,
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

#[derive(Debug, Deserialize)]
struct VersionJson {
    #[serde(default)]
    urls: Vec<FileJson>,
    info: Info,
}

#[derive(Debug, Deserialize)]
struct Info {
    version: String,
    #[serde(default)]
    yanked: bool,
}

#[derive(Debug, Deserialize)]
struct FileJson {
    filename: String,
    packagetype: String,
    url: String,
    digests: Digests,
    #[serde(default)]
    yanked: bool,
}

#[derive(Debug, Deserialize)]
struct Digests {
    sha256: String,
}

/// Checks the PyPI channel.
pub fn check(probe: &Probe<'_>) -> Vec<Finding> {
    let Some(channel) = &probe.policy.channels.pypi else {
        return vec![Finding::skipped(CHECK, "pypi", "no [channel.pypi] in the policy")];
    };
    let name = &channel.package;
    let version = probe.target.pep440();
    let subject = format!("pypi {name}=={version}");
    let Some(base) = &probe.policy.endpoints.pypi else {
        return vec![no_endpoint(probe, &PUBLISHED, &subject, "pypi")];
    };
    let base = base.trim_end_matches('/');
    let url = format!("{base}/pypi/{}/{version}/json", normalize(name));
    let absent = format!("release {version} is not on PyPI");
    let fetched: Fetched<VersionJson> = match fetch::get_json(probe.http, &url, "application/json") {
        Ok(fetched) => fetched,
        Err(e) => return vec![e.finding(&PUBLISHED, &subject, Absent::Fail(&absent))],
    };
    let (doc, ev) = (&fetched.doc, fetched.evidence());
    if doc.info.version != version {
        return vec![
            Finding::fail(PUBLISHED, &subject, format!("PyPI answered with release {}", doc.info.version)).with(ev),
        ];
    }
    if doc.info.yanked {
        return vec![Finding::fail(PUBLISHED, &subject, format!("release {version} is yanked")).with(ev)];
    }
    let mut out =
        vec![Finding::pass(PUBLISHED, &subject, format!("published with {} file(s)", doc.urls.len())).with(ev.clone())];
    let stem = file_stem(name);
    let mut expected: Vec<(String, Option<&FileJson>)> = Vec::new();
    if let Some(manifest) = probe.manifest {
        if manifest.targets.iter().any(|t| t.upload_sdist) {
            let sdist = format!("{stem}-{version}.tar.gz");
            let file = doc.urls.iter().find(|f| f.packagetype == "sdist" && f.filename == sdist);
            expected.push((format!("sdist {sdist}"), file));
        }
        for t in manifest.in_channel(crate::manifest::Channel::Pypi, Tier::Official).unwrap_or_default() {
            let file = doc.urls.iter().find(|f| {
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
            Some(f) => out
                .push(Finding::pass(CHECK, &s, format!("{} sha256 {}", f.filename, f.digests.sha256)).with(ev.clone())),
        }
    }
    for f in doc
        .urls
        .iter()
        .filter(|f| f.yanked && !expected.iter().any(|(_, e)| e.is_some_and(|e| e.filename == f.filename)))
    {
        out.push(Finding::fail(CHECK, format!("{subject} {}", f.filename), "file is yanked").with(ev.clone()));
    }
    // The current version and the files do not need each other: asked for at the same time.
    let files: &[FileJson] = if probe.deep { &doc.urls } else { &[] };
    let (current, deep) = crate::parallel::join(
        || current(probe, base, name),
        || crate::parallel::map(files, |f| deep_file(probe, &fetched.url, &subject, f)),
    );
    out.push(current);
    out.extend(deep);
    out
}

fn current(probe: &Probe<'_>, base: &str, name: &str) -> Finding {
    let subject = format!("pypi {name} current version");
    let url = format!("{base}/pypi/{}/json", normalize(name));
    let fetched: Fetched<serde_json::Value> = match fetch::get_json(probe.http, &url, "application/json") {
        Ok(fetched) => fetched,
        Err(e) => return e.finding(&CHECK, &subject, Absent::Fail("the project is not found")),
    };
    let (doc, ev) = (&fetched.doc, fetched.evidence());
    let Some(current) = doc.pointer("/info/version").and_then(|v| v.as_str()) else {
        return Finding::incomplete(CHECK, &subject, "response has no info.version").with(ev);
    };
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
    if got == f.digests.sha256 {
        Finding::pass(CHECK, &s, format!("sha256 {got} equals digests.sha256")).with(ev)
    } else {
        Finding::fail(CHECK, &s, format!("sha256 of the download is {got}, PyPI says {}", f.digests.sha256)).with(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
