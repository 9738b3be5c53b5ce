//! What the registry channels ask and how they read the answers (issue 11): crates downloads
//! follow the index's `config.json` `dl` as cargo does; PyPI is read from one answer, the
//! project JSON, and a mirror that lacks parts of the API is not a missing release; npm reads
//! the abbreviated package document, and a package that is not there says so.

use release_core::{
    Channel, Context, Finding, Outcome, ReleaseTarget, TokenSource,
    commands::{self, VerifyOptions, VerifyOutcome, VerifyRequest},
    testing::{
        FakeRegistry, Fault, FixtureRepo, PublishedRelease, Service,
        fake_registry::{CRATES_DL_MARKERS, CRATES_DL_PLAIN, CRATES_DL_PREFIXED, Logged, PypiMode},
        plasmite_manifest,
    },
};

struct World {
    fake: FakeRegistry,
    repo: FixtureRepo,
}

/// A fake serving a coherent 0.8.0 (changed by `change`) and a fixture whose policy points at
/// it.
fn world(change: impl FnOnce(&mut PublishedRelease)) -> World {
    let mut published = PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap();
    change(&mut published);
    let fake = FakeRegistry::start(published).unwrap();
    let toml = fake.endpoints_toml();
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &toml).build().unwrap();
    World { fake, repo }
}

impl World {
    fn verify(&self, channels: &[Channel], deep: bool) -> VerifyOutcome {
        let cx = Context::open(self.repo.root(), None).unwrap().with_http(
            release_core::HttpConfig {
                retries: 0,
                request_timeout: std::time::Duration::from_secs(5),
                ..release_core::HttpConfig::default()
            },
            TokenSource::Fixed(None),
        );
        let request = VerifyRequest {
            target: ReleaseTarget::parse("0.8.0").unwrap(),
            options: VerifyOptions { channels: channels.to_vec(), ci: false, deep, ..VerifyOptions::default() },
            file_blockers: false,
            http: Default::default(),
        };
        commands::verify(&cx, &request, &mut commands::Silent).unwrap()
    }

    fn asked(&self) -> Vec<Logged> {
        self.fake.requests()
    }

    fn paths(&self, prefix: &str) -> Vec<String> {
        self.asked().into_iter().map(|l| l.path).filter(|p| p.starts_with(prefix)).collect()
    }
}

fn findings(outcome: &VerifyOutcome) -> &[Finding] {
    &outcome.recorded.report.findings
}

/// The one finding about `subject`; panics with every finding when there is not exactly one.
fn about<'a>(outcome: &'a VerifyOutcome, subject: &str) -> &'a Finding {
    let all = findings(outcome);
    let mine: Vec<&Finding> = all.iter().filter(|f| f.subject == subject).collect();
    assert_eq!(mine.len(), 1, "{subject}: {all:#?}");
    mine[0]
}

fn exit(outcome: &VerifyOutcome) -> u8 {
    outcome.recorded.report.verdict.exit_code()
}

/// A plain HTTP/1.0 GET to the fake (loopback, no TLS): status, lowercase headers, body.
fn get(url: &str, accept: Option<&str>) -> (u16, String, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n{accept}\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_lowercase(), body.to_string())
}

fn evidence_urls(f: &Finding) -> String {
    serde_json::to_string(&f.evidence).unwrap()
}

#[test]
fn crates_downloads_go_where_the_index_config_says() {
    let cksum_of = |w: &World| {
        let mut sum = String::new();
        w.fake.update(|r| sum = r.crates.iter().find(|c| c.vers == "0.8.0").unwrap().cksum.clone());
        sum
    };
    for (dl, path) in [
        (CRATES_DL_MARKERS, "/dl/plasmite/plasmite-0.8.0.crate".to_string()),
        // crates.io's own form: no marker, so `/{crate}/{version}/download` is appended.
        (CRATES_DL_PLAIN, "/dl/plasmite/0.8.0/download".to_string()),
        (CRATES_DL_PREFIXED, "/dl/files/pl/as/pl/as/{sum}/plasmite-0.8.0.crate".to_string()),
    ] {
        let w = world(|r| r.crates_dl = dl.into());
        let path = path.replace("{sum}", &cksum_of(&w));
        let run = w.verify(&[Channel::Crates], true);
        let deep = about(&run, "crates plasmite-0.8.0.crate");
        assert_eq!(deep.outcome, Outcome::Pass, "{dl}: {deep:#?}");
        assert!(deep.detail.contains("/index/config.json"), "{deep:#?}");
        assert!(evidence_urls(deep).contains(&path), "{deep:#?}");
        assert_eq!(exit(&run), 0, "{dl}: {:#?}", findings(&run));
        assert_eq!(w.paths("/index/config.json").len(), 1, "config.json is read once");
        assert_eq!(w.paths("/dl/"), vec![path.clone()], "{dl}");
        if dl == CRATES_DL_PREFIXED {
            // The one fixed form the check used to build is not served by this registry: the
            // old check read that 404 as a missing `.crate` (a false Fail).
            let old = format!("{}/plasmite/plasmite-0.8.0.crate", w.fake.url(Service::CratesDownload));
            assert_eq!(get(&old, None).0, 404);
        }
    }
    // Without --deep nothing is downloaded, so config.json is not asked for.
    let w = world(|_| {});
    assert_eq!(exit(&w.verify(&[Channel::Crates], false)), 0);
    assert!(w.paths("/index/config.json").is_empty(), "{:?}", w.paths("/"));
}

#[test]
fn a_missing_or_unreadable_config_json_is_incomplete_naming_its_url() {
    for fault in [Fault::Status(404), Fault::Garbage, Fault::Status(500)] {
        let w = world(|_| {});
        w.fake.fault_path(Service::CratesIndex, "/config.json", fault.clone());
        let run = w.verify(&[Channel::Crates], true);
        let deep = about(&run, "crates plasmite-0.8.0.crate");
        assert_eq!(deep.outcome, Outcome::Incomplete, "{fault:?}: {deep:#?}");
        let url = format!("{}/config.json", w.fake.url(Service::CratesIndex));
        assert!(deep.detail.contains(&url), "{fault:?}: {deep:#?}");
        assert!(!findings(&run).iter().any(|f| f.outcome == Outcome::Fail), "{:#?}", findings(&run));
        assert_eq!(exit(&run), 3);
        assert!(w.paths("/dl/").is_empty(), "no guessed download: {:?}", w.paths("/"));
    }
    // A config.json without `dl` is unreadable too.
    let w = world(|_| {});
    w.fake.fault_path(Service::CratesIndex, "/config.json", Fault::Empty);
    let run = w.verify(&[Channel::Crates], true);
    assert_eq!(about(&run, "crates plasmite-0.8.0.crate").outcome, Outcome::Incomplete);
}

#[test]
fn an_explicit_crates_download_overrides_config_json_and_is_read_as_a_dl() {
    // The index's config.json is broken; the policy's `crates_download` (a `dl` value, markers
    // and all) says where the files are, and config.json is not asked for at all.
    let mut published = PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap();
    published.crates_dl = CRATES_DL_MARKERS.into();
    let fake = FakeRegistry::start(published).unwrap();
    fake.fault_path(Service::CratesIndex, "/config.json", Fault::Status(500));
    let over = format!("{}/{{crate}}/{{crate}}-{{version}}.crate", fake.url(Service::CratesDownload));
    let toml = fake.endpoints_toml_with(&[(Service::CratesDownload, Some(&over))]);
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &toml).build().unwrap();
    let w = World { fake, repo };
    let run = w.verify(&[Channel::Crates], true);
    let deep = about(&run, "crates plasmite-0.8.0.crate");
    assert_eq!(deep.outcome, Outcome::Pass, "{deep:#?}");
    assert!(deep.detail.contains("[endpoints].crates_download"), "{deep:#?}");
    assert!(w.paths("/index/config.json").is_empty(), "the override is not second-guessed");
    assert_eq!(w.paths("/dl/"), vec!["/dl/plasmite/plasmite-0.8.0.crate".to_string()]);
}

#[test]
fn pypi_is_read_from_one_answer_the_project_json() {
    let w = world(|_| {});
    let run = w.verify(&[Channel::Pypi], true);
    assert_eq!(exit(&run), 0, "{:#?}", findings(&run));
    // One request for everything the shallow check reads; then only the files (--deep).
    let documents: Vec<String> = w.paths("/pypi/pypi/");
    assert_eq!(documents, vec!["/pypi/pypi/plasmite/json".to_string()]);
    assert_eq!(w.paths("/pypi/files/").len(), 4, "{:?}", w.paths("/"));
    assert_eq!(about(&run, "pypi plasmite current version").outcome, Outcome::Pass);
}

#[test]
fn a_pypi_mirror_without_per_version_json_is_not_a_missing_release() {
    let w = world(|r| r.pypi_mode = PypiMode::Mirror);
    // The mirror answers 404 for the version the project JSON lists...
    let per_version = format!("{}/pypi/plasmite/0.8.0/json", w.fake.url(Service::Pypi));
    assert_eq!(get(&per_version, None).0, 404);
    // ...which the check never needs: the project JSON's files (URLs relative to it) decide.
    let run = w.verify(&[Channel::Pypi], true);
    assert_eq!(exit(&run), 0, "{:#?}", findings(&run));
    assert_eq!(about(&run, "pypi plasmite==0.8.0").outcome, Outcome::Pass);
    assert_eq!(w.paths("/pypi/pypi/plasmite/0.8.0").len(), 1, "only this test asked for it");
}

#[test]
fn a_pypi_mirror_without_digests_is_incomplete_deep_and_never_a_partial_publish() {
    let w = world(|r| {
        r.pypi_mode = PypiMode::MirrorWithoutDigests;
        r.npm.remove("0.8.0");
    });
    let shallow = w.verify(&[Channel::Pypi], false);
    assert_eq!(exit(&shallow), 0, "the files are listed: {:#?}", findings(&shallow));
    let wheel = about(&shallow, "pypi plasmite==0.8.0 wheel for darwin_arm64");
    assert!(wheel.detail.contains("no sha256 listed"), "{wheel:#?}");

    let deep = w.verify(&[Channel::Crates, Channel::Npm, Channel::Pypi], true);
    let pypi: Vec<&Finding> = findings(&deep).iter().filter(|f| f.subject.starts_with("pypi ")).collect();
    assert!(!pypi.iter().any(|f| f.outcome == Outcome::Fail), "{pypi:#?}");
    let file = about(&deep, "pypi plasmite==0.8.0 plasmite-0.8.0.tar.gz");
    assert_eq!(file.outcome, Outcome::Incomplete, "{file:#?}");
    assert!(file.detail.contains("no digests.sha256"), "{file:#?}");
    // npm is really missing (a Fail, exit 1); PyPI is live, only undecided on its digests:
    // the recovery names npm alone and never tells the maintainer to re-publish PyPI.
    assert_eq!(exit(&deep), 1);
    let partial = deep.partial_publish.as_ref().expect("live on crates and pypi, missing on npm");
    assert_eq!(partial.missing, vec![Channel::Npm]);
    assert!(partial.live.contains(&Channel::Pypi), "{partial:?}");
}

#[test]
fn pypi_versions_are_compared_as_pep440_and_a_yanked_release_blocks() {
    // Releases 10.8.0 and 0.8.0.post1 are listed, 0.8.0 is not (bug 31: no substring match).
    let w = world(|r| {
        let files = r.pypi.remove("0.8.0").unwrap();
        r.pypi.insert("10.8.0".into(), files.clone());
        r.pypi.insert("0.8.0.post1".into(), files);
        r.pypi_current = "10.8.0".into();
    });
    let run = w.verify(&[Channel::Pypi], false);
    let published = about(&run, "pypi plasmite==0.8.0");
    assert_eq!(published.outcome, Outcome::Fail, "{published:#?}");
    assert!(published.detail.contains("not on PyPI (3 releases listed)"), "{published:#?}");

    let w = world(|r| r.pypi.get_mut("0.8.0").unwrap().1 = true);
    let run = w.verify(&[Channel::Pypi], false);
    let published = about(&run, "pypi plasmite==0.8.0");
    assert_eq!(published.outcome, Outcome::Fail);
    assert!(published.detail.contains("release 0.8.0 is yanked"), "{published:#?}");
}

#[test]
fn npm_reads_the_abbreviated_package_document_once() {
    let w = world(|_| {});
    let run = w.verify(&[Channel::Npm], false);
    assert_eq!(exit(&run), 0, "{:#?}", findings(&run));
    let npm: Vec<Logged> = w.asked().into_iter().filter(|l| l.path.starts_with("/npm/")).collect();
    assert_eq!(npm.len(), 1, "{npm:?}");
    assert_eq!(npm[0].path, "/npm/plasmite");
    let accept = npm[0].accept.clone().unwrap_or_default();
    assert!(accept.starts_with("application/vnd.npm.install-v1+json"), "{accept}");
    assert_eq!(about(&run, "npm plasmite dist-tags.latest").outcome, Outcome::Pass);
    // The fake honours the header as registry.npmjs.org does: abbreviated when asked, full
    // (with publish times) otherwise.
    let url = format!("{}/plasmite", w.fake.url(Service::Npm));
    let (status, head, short) = get(&url, Some(&accept));
    assert_eq!(status, 200);
    assert!(head.contains("content-type: application/vnd.npm.install-v1+json"), "{head}");
    let short: serde_json::Value = serde_json::from_str(&short).unwrap();
    assert!(short.get("time").is_none() && short["modified"].is_string() && short["dist-tags"]["latest"] == "0.8.0");
    assert!(short["versions"]["0.8.0"]["dist"]["integrity"].as_str().unwrap().starts_with("sha512-"));
    let full: serde_json::Value = serde_json::from_str(&get(&url, Some("application/json")).2).unwrap();
    assert!(full["time"]["0.8.0"].is_string() && full["_rev"].is_string(), "{full}");
}

#[test]
fn a_package_missing_from_npm_says_so_naming_the_registry() {
    let w = world(|r| r.npm.clear());
    let run = w.verify(&[Channel::Crates, Channel::Npm], false);
    let published = about(&run, "npm plasmite@0.8.0");
    assert_eq!(published.outcome, Outcome::Fail, "{published:#?}");
    let registry = w.fake.url(Service::Npm);
    assert!(
        published.detail.contains(&format!("package `plasmite` is not on the registry {registry}")),
        "{published:#?}"
    );
    assert!(!published.detail.contains("version 0.8.0 is not published"), "{published:#?}");
    // The release is missing there: blocked, and a partial publish (crates is live).
    assert_eq!(exit(&run), 1);
    assert_eq!(run.partial_publish.as_ref().unwrap().missing, vec![Channel::Npm]);
    assert_eq!(w.paths("/npm/"), vec!["/npm/plasmite".to_string()], "one request says it all");
}

#[test]
fn an_npm_version_missing_from_the_document_is_asked_alone() {
    // Not published: the document lists 10.8.0 (bug 31: never a substring match) and the
    // version alone answers 404.
    let w = world(|r| {
        let doc = r.npm.remove("0.8.0").unwrap();
        r.npm.insert("10.8.0".into(), doc);
    });
    let run = w.verify(&[Channel::Npm], false);
    let published = about(&run, "npm plasmite@0.8.0");
    assert_eq!(published.outcome, Outcome::Fail, "{published:#?}");
    assert!(published.detail.contains("version 0.8.0 is not published"), "{published:#?}");
    assert_eq!(w.paths("/npm/"), vec!["/npm/plasmite".to_string(), "/npm/plasmite/0.8.0".to_string()]);

    // A cached document from before the publish: the version alone answers. Two answers of
    // one registry disagree: incomplete (wait and re-check), never a missing release.
    let w = world(|r| r.npm_document_omits.push("0.8.0".into()));
    let run = w.verify(&[Channel::Crates, Channel::Npm], false);
    let published = about(&run, "npm plasmite@0.8.0");
    assert_eq!(published.outcome, Outcome::Incomplete, "{published:#?}");
    assert!(published.detail.contains("disagree"), "{published:#?}");
    assert_eq!(exit(&run), 3);
    assert!(run.partial_publish.is_none());
}
