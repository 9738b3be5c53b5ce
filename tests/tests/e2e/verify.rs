//! `cargo xtask release verify` end to end: the real binary, a plasmite-shaped fixture repo
//! whose policy `[endpoints]` point at a FakeRegistry.

use release_core::{
    Manifest,
    testing::{FakeRegistry, FixtureRepo, PublishedRelease, fake_registry::WorkflowRun, plasmite_manifest},
};
use tests::{Run, finding_with, release, with_status};

fn manifest() -> Manifest {
    plasmite_manifest()
}

struct World {
    repo: FixtureRepo,
    fake: FakeRegistry,
}

fn world(version: &str, change: impl FnOnce(&mut PublishedRelease)) -> World {
    let mut published = PublishedRelease::coherent(&manifest(), version).unwrap();
    change(&mut published);
    let fake = FakeRegistry::start(published).unwrap();
    let repo = FixtureRepo::plasmite(version).append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
    World { repo, fake }
}

impl World {
    fn verify(&self, extra: &[&str]) -> Run {
        let tag = format!("v{}", self.fake_version());
        let mut args = vec!["verify", tag.as_str(), "--http-timeout", "2s", "--http-retries", "0"];
        args.extend_from_slice(extra);
        release(self.repo.root(), &args)
    }

    /// As [`World::verify`], with `--json`: the typed report the assertions read.
    fn verify_json(&self, extra: &[&str]) -> Run {
        self.verify(&[extra, &["--json"]].concat())
    }

    fn fake_version(&self) -> String {
        let mut v = String::new();
        self.fake.update(|r| v = r.target.version());
        v
    }
}

/// How many findings of a `--json` run failed.
fn fails(run: &Run) -> usize {
    with_status(&run.json(), "fail").len()
}

/// A `--json` run is blocked by a failed finding about `subject` whose detail says `words`.
fn assert_blocked(run: &Run, subject: &str, words: &[&str]) {
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    assert_eq!(report["verdict"], "blocked");
    finding_with(&report, "fail", subject, words);
}

#[test]
fn coherent_release_passes_every_channel() {
    let w = world("0.8.0", |_| {});
    let run = w.verify_json(&[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["verdict"], "ready");
    for subject in [
        "crates plasmite@0.8.0",
        "npm plasmite@0.8.0",
        "pypi plasmite==0.8.0",
        "github release v0.8.0",
        "homebrew formula",
        "ci ci.yml",
    ] {
        let passed = with_status(&report, "pass").iter().any(|f| f["subject"].as_str().unwrap().starts_with(subject));
        assert!(passed, "{subject}:\n{}", run.all());
    }
    let deep = w.verify(&["--deep", "--json"]);
    assert_eq!(deep.code, 0, "{}", deep.all());
    let json = deep.json();
    assert_eq!(json["verdict"], "ready");
    assert!(json["partial_publish"].is_null());
    // Both runs are in the evidence record, with the phase they belong to.
    let record = tests::evidence_json(w.repo.root(), "v0.8.0");
    let verifies = record["entries"].as_array().unwrap().iter().filter(|e| e["report"]["command"] == "verify").count();
    assert_eq!(verifies, 2);
    assert_eq!(record["checkpoint"]["phase"], "verification");
}

fn sha_of(r: &PublishedRelease, platform: &str) -> String {
    let name = r.archive(platform);
    release_core::testing::sha256_hex(&r.assets.iter().find(|a| a.name == name).unwrap().bytes)
}

/// Changes one character of a hex string.
fn off_by_one(hex: &str) -> String {
    let last = if hex.ends_with('0') { "1" } else { "0" };
    format!("{}{last}", &hex[..hex.len() - 1])
}

#[test]
fn missing_version_blocks_naming_the_channel_and_url() {
    let w = world("0.8.0", |r| r.crates.retain(|c| c.vers != "0.8.0"));
    let run = w.verify_json(&[]);
    assert_blocked(&run, "crates plasmite@0.8.0", &["not in the index"]);
    let report = run.json();
    let f = finding_with(&report, "fail", "crates plasmite@0.8.0", &[]);
    let asked = f["evidence"].as_array().unwrap().iter().any(|e| {
        e["kind"] == "url" && e["url"].as_str().unwrap().ends_with("/index/pl/as/plasmite") && e["status"] == 200
    });
    assert!(asked, "{f:#}");
}

#[test]
fn yanked_crate_and_yanked_wheel_block() {
    let w = world("0.8.0", |r| {
        r.crates[1].yanked = true;
        r.pypi.get_mut("0.8.0").unwrap().0[1].yanked = true;
    });
    let run = w.verify_json(&[]);
    assert_blocked(&run, "crates plasmite@0.8.0", &["yanked"]);
    assert_blocked(&run, "pypi plasmite==0.8.0 wheel for darwin_amd64", &["is yanked"]);
}

#[test]
fn wrong_latest_blocks() {
    let w = world("0.8.0", |r| {
        r.npm_tags.insert("latest".into(), "0.7.2".into());
        r.pypi_current = "0.7.2".into();
    });
    let run = w.verify_json(&[]);
    assert_blocked(&run, "npm plasmite dist-tags.latest", &["`latest` is 0.7.2"]);
    assert_blocked(&run, "pypi plasmite current version", &["0.7.2"]);
}

#[test]
fn newer_release_skips_the_default_check_with_a_reason() {
    let w = world("0.8.0", |r| {
        r.npm_tags.insert("latest".into(), "10.8.0".into());
    });
    let run = w.verify_json(&["--channels", "npm"]);
    let report = run.json();
    let skipped = with_status(&report, "skipped");
    assert!(
        skipped.iter().any(|f| f["detail"].as_str().unwrap().contains("a newer release 10.8.0 is `latest`")),
        "{}",
        run.all()
    );
}

#[test]
fn prerelease_marked_latest_blocks() {
    let w = world("0.9.0-rc.1", |r| {
        r.npm_tags.insert("latest".into(), "0.9.0-rc.1".into());
    });
    let run = w.verify_json(&[]);
    assert_blocked(&run, "npm plasmite dist-tags.latest", &["pre-release 0.9.0-rc.1 is `latest`"]);
    // Everything else about the pre-release is fine, PEP 440 form included.
    finding_with(&run.json(), "pass", "pypi plasmite==0.9.0rc1", &[]);
    assert_eq!(fails(&run), 1, "{}", run.all());
}

#[test]
fn coherent_prerelease_passes() {
    let w = world("0.9.0-rc.1", |_| {});
    let run = w.verify(&[]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn missing_wheel_and_missing_archive_block() {
    let w = world("0.8.0", |r| {
        r.pypi.get_mut("0.8.0").unwrap().0.retain(|f| !f.filename.contains("arm64"));
        let name = r.archive("linux_amd64");
        r.assets.retain(|a| a.name != name);
    });
    let run = w.verify_json(&[]);
    assert_blocked(&run, "pypi plasmite==0.8.0 wheel for darwin_arm64", &["no wheel"]);
    assert_blocked(&run, "github asset plasmite_0.8.0_linux_amd64.tar.gz", &["no asset"]);
}

#[test]
fn sums_line_disagreeing_with_asset_digest_blocks() {
    let w = world("0.8.0", |r| {
        let name = r.archive("darwin_amd64");
        let asset = r.asset_mut(&name).unwrap();
        asset.digest = Some(format!("sha256:{}", off_by_one(&"a".repeat(64))));
    });
    let run = w.verify_json(&[]);
    assert_blocked(&run, "github asset plasmite_0.8.0_darwin_amd64.tar.gz", &["the asset digest is"]);
}

#[test]
fn formula_sha_off_by_one_character_blocks() {
    let w = world("0.8.0", |r| {
        let sha = sha_of(r, "darwin_arm64");
        let text = r.formula.take().unwrap();
        r.formula = Some(text.replace(&sha, &off_by_one(&sha)));
    });
    let run = w.verify_json(&[]);
    assert_blocked(&run, "homebrew formula darwin_arm64", &["differs from the sums file"]);
}

#[test]
fn formula_url_off_by_one_character_blocks() {
    let w = world("0.8.0", |r| {
        let text = r.formula.take().unwrap();
        r.formula = Some(
            text.replace("download/v0.8.0/plasmite_0.8.0_linux_amd64", "download/v0.8.0/plasmite_0.8.1_linux_amd64"),
        );
    });
    let run = w.verify_json(&[]);
    assert_blocked(&run, "homebrew formula linux_amd64", &["plasmite_0.8.1_linux_amd64"]);
}

#[test]
fn formula_block_for_an_unlisted_platform_blocks() {
    let w = world("0.8.0", |r| {
        let text = r.formula.take().unwrap();
        let extra = "  on_linux do\n    on_arm do\n      url \"{github_web}/sandover/plasmite/releases/download/v0.1.0/plasmite_0.1.0_linux_arm64.tar.gz\"\n      sha256 \"PLACEHOLDER\"\n    end\n  end\n";
        r.formula = Some(text.replacen("\n  def install", &format!("\n{extra}\n  def install"), 1));
    });
    let run = w.verify_json(&["--channels", "homebrew"]);
    assert_blocked(&run, "homebrew formula linux_arm64", &["not homebrew-official"]);
}

#[test]
fn draft_release_blocks() {
    let w = world("0.8.0", |r| r.draft = true);
    let run = w.verify_json(&[]);
    assert_blocked(&run, "github release v0.8.0", &["draft"]);
}

#[test]
fn newest_failed_ci_run_blocks_despite_an_older_success() {
    let w = world("0.8.0", |r| {
        let sha = r.tag_commit.clone().unwrap();
        r.runs.push(WorkflowRun {
            id: 1002,
            head_sha: sha,
            status: "completed".into(),
            conclusion: Some("failure".into()),
            created_at: "2026-07-28T11:00:00Z".into(),
            ..WorkflowRun::default()
        });
    });
    let run = w.verify_json(&["--channels", "ci"]);
    assert_blocked(&run, "ci ci.yml on v0.8.0", &["run 1002", "failure"]);
    assert!(run.stdout.contains("actions/runs/1002"), "{}", run.all());
}

#[test]
fn ci_runs_are_read_past_the_first_page() {
    // 100 newer runs still going fill the first page; the completed success is on page 2.
    // Reading one page would call this INCOMPLETE.
    let w = world("0.8.0", |r| {
        let sha = r.tag_commit.clone().unwrap();
        for i in 0..100 {
            r.runs.push(WorkflowRun {
                id: 5000 + i,
                head_sha: sha.clone(),
                status: "in_progress".into(),
                conclusion: None,
                created_at: format!("2026-07-29T00:{:02}:{:02}Z", i / 60, i % 60),
                ..WorkflowRun::default()
            });
        }
    });
    let run = w.verify(&["--channels", "ci"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("run 1001") && run.stdout.contains("succeeded"), "{}", run.all());
    let pages: Vec<String> =
        w.fake.requests().into_iter().map(|l| l.path).filter(|p| p.contains("/workflows/ci.yml/runs")).collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[1].ends_with("&page=2"), "{pages:?}");
}

#[test]
fn deep_mode_checksum_mismatch_blocks() {
    let w = world("0.8.0", |r| {
        r.crates[1].bytes = b"tampered".to_vec();
        let name = r.archive("darwin_arm64");
        r.asset_mut(&name).unwrap().bytes.push(b'!');
    });
    let shallow = w.verify(&["--channels", "crates"]);
    assert_eq!(shallow.code, 0, "{}", shallow.all());
    let run = w.verify_json(&["--deep"]);
    assert_blocked(&run, "crates plasmite-0.8.0.crate", &["sha256 of the download is"]);
    assert_blocked(&run, "github asset plasmite_0.8.0_darwin_arm64.tar.gz", &["sha256 of the download is"]);
}

#[test]
fn partial_publish_names_live_and_missing_channels_and_the_recovery() {
    let w = world("0.8.0", |r| {
        r.npm.remove("0.8.0");
        r.pypi.remove("0.8.0");
    });
    let run = w.verify(&[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("PARTIAL PUBLISH: live on crates, github, homebrew; missing on npm, pypi"),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("never re-tag"), "{}", run.all());
    let json = w.verify(&["--json"]).json();
    assert_eq!(json["partial_publish"]["missing"], serde_json::json!(["npm", "pypi"]));
}

#[test]
fn unconfigured_endpoint_is_incomplete_and_says_what_to_set() {
    let published = PublishedRelease::coherent(&manifest(), "0.8.0").unwrap();
    let fake = FakeRegistry::start(published).unwrap();
    let toml = fake.endpoints_toml_with(&[(release_core::testing::Service::CratesIndex, None)]);
    // Without `[endpoints] crates_index` the index is cargo's; this repository's cargo
    // configuration replaces crates.io with a git index, which cannot be read over HTTP.
    let cargo =
        "[source.crates-io]\nreplace-with = \"corp\"\n[source.corp]\nregistry = \"https://git.example/index.git\"\n";
    let repo = FixtureRepo::plasmite("0.8.0")
        .append("release/policy.toml", &toml)
        .file(".cargo/config.toml", cargo)
        .build()
        .unwrap();
    let run = release(repo.root(), &["verify", "v0.8.0", "--channels", "crates", "--http-timeout", "2s"]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("set `endpoints.crates_index` in the policy"), "{}", run.all());
}

#[test]
fn wait_rechecks_until_the_channel_passes() {
    let w = world("0.8.0", |r| r.crates.retain(|c| c.vers != "0.8.0"));
    let fake = &w.fake;
    // The crate appears on the index's second look: no timer to race, and the waits run on
    // a manual clock.
    fake.change_at_request("/pl/as/plasmite", 2, |r| {
        let bytes = b"crate 0.8.0".to_vec();
        r.crates.push(release_core::testing::fake_registry::CrateVersion {
            vers: "0.8.0".into(),
            cksum: release_core::testing::sha256_hex(&bytes),
            bytes,
            yanked: false,
        });
    });
    let args = [
        "verify",
        "v0.8.0",
        "--http-timeout",
        "2s",
        "--http-retries",
        "0",
        "--channels",
        "crates,npm",
        "--wait",
        "10s",
        "--json",
    ];
    let run = tests::release_with_env(w.repo.root(), &args, &[("RELEASE_CORE_MANUAL_CLOCK", "1")]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.json()["rounds"].as_u64().unwrap() >= 2);
    // Only the failing channel was re-checked (npm reads one document, the package's).
    let npm_docs = fake.requests().iter().filter(|r| r.path == "/npm/plasmite").count();
    assert_eq!(npm_docs, 1);
}

#[test]
fn homebrew_render_then_check_round_trip_for_a_prerelease() {
    let w = world("0.9.0-rc.1", |_| {});
    let mut sums = String::new();
    w.fake.update(|r| {
        sums = String::from_utf8(r.assets.iter().find(|a| a.name == "sha256sums.txt").unwrap().bytes.clone()).unwrap()
    });
    w.repo.write("scratch/sha256sums.txt", &sums).unwrap();
    let sums_path = w.repo.path("scratch/sha256sums.txt");
    let out = w.repo.path("scratch/plasmite.rb");
    let run = release(
        w.repo.root(),
        &["homebrew", "render", "v0.9.0-rc.1", "--sha256sums", sums_path.as_str(), "--out", out.as_str()],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("version \"0.9.0-rc.1\""), "{text}");
    let run = release(
        w.repo.root(),
        &["homebrew", "check", "v0.9.0-rc.1", "--sha256sums", sums_path.as_str(), "--formula", out.as_str()],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    std::fs::write(&out, text.replacen("sha256 \"", "sha256 \"0", 1)).unwrap();
    let run = release(
        w.repo.root(),
        &["homebrew", "check", "v0.9.0-rc.1", "--sha256sums", sums_path.as_str(), "--formula", out.as_str()],
    );
    assert_eq!(run.code, 1, "{}", run.all());
}

#[test]
fn a_tag_moved_since_it_was_pushed_blocks() {
    let w = world("0.8.0", |_| {});
    // The local tag points at the fixture's commit, which is not the one GitHub reports.
    w.repo.tag("v0.8.0").unwrap();
    let run = w.verify_json(&["--channels", "github"]);
    assert_blocked(&run, "github tag v0.8.0", &["the tag was moved"]);
}

#[test]
fn deep_mode_finds_a_tarball_without_a_native_platform() {
    let w = world("0.8.0", |r| {
        let files = vec![
            ("package/package.json".to_string(), b"{}".to_vec()),
            ("package/native/linux-x64/index.node".to_string(), b"x".to_vec()),
            ("package/native/darwin-x64/index.node".to_string(), b"x".to_vec()),
            ("package/native/darwin-arm64/index.node".to_string(), b"x".to_vec()),
        ];
        let tarball = release_core::testing::fake_registry::tgz(&files).unwrap();
        let doc = r.npm.get_mut("0.8.0").unwrap();
        doc.integrity = release_core::testing::sri_sha512(&tarball);
        doc.tarball = tarball;
    });
    let run = w.verify_json(&["--channels", "npm", "--deep"]);
    assert_blocked(&run, "npm plasmite@0.8.0 native/win32-x64", &["no files under package/native/win32-x64/"]);
    assert_eq!(fails(&run), 1, "{}", run.all());
}
