//! Content from outside is adversarial: sums files and formulas that say two things about one
//! file are blocked naming both lines, never read as their first line.

use release_core::testing::{FakeRegistry, FixtureRepo, PublishedRelease, plasmite_manifest, sha256_hex};
use tests::{Run, finding_with, release};

fn world(change: impl FnOnce(&mut PublishedRelease)) -> (FixtureRepo, FakeRegistry) {
    let mut published = PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap();
    change(&mut published);
    let fake = FakeRegistry::start(published).unwrap();
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
    (repo, fake)
}

fn verify(repo: &FixtureRepo, channels: &str) -> Run {
    let args = ["verify", "v0.8.0", "--channels", channels, "--http-timeout", "2s", "--http-retries", "0", "--json"];
    release(repo.root(), &args)
}

/// The sums file a re-run appended to: the right line for linux_amd64 first, a wrong one
/// after it (the digest GitHub computed for the new file, so only the lines are wrong).
fn appended_sums(r: &mut PublishedRelease) -> String {
    let name = r.archive("linux_amd64");
    let sums = r.asset_mut("sha256sums.txt").unwrap();
    let mut text = String::from_utf8(sums.bytes.clone()).unwrap();
    text.push_str(&format!("{}  {name}\n", "0".repeat(64)));
    sums.bytes = text.clone().into_bytes();
    sums.digest = Some(format!("sha256:{}", sha256_hex(&sums.bytes)));
    text
}

#[test]
fn a_sums_file_with_two_lines_for_one_asset_blocks_verify_and_homebrew() {
    let mut sums = String::new();
    let (repo, _fake) = world(|r| sums = appended_sums(r));
    let lines = sums.lines().count();
    for channels in ["github", "homebrew"] {
        let run = verify(&repo, channels);
        assert_eq!(run.code, 1, "{channels}: {}", run.all());
        let report = run.json();
        finding_with(
            &report,
            "fail",
            "github release v0.8.0 sha256sums.txt",
            &[&format!("lines 3 and {lines}"), "plasmite_0.8.0_linux_amd64.tar.gz"],
        );
    }
    // The local commands: `homebrew check` and `homebrew render` refuse the file, naming it
    // and both lines, where reading the first line passed (check) or rendered (render).
    repo.write("scratch/sha256sums.txt", &sums).unwrap();
    let sums_path = repo.path("scratch/sha256sums.txt");
    let out = repo.path("scratch/plasmite.rb");
    let render = release(
        repo.root(),
        &["homebrew", "render", "v0.8.0", "--sha256sums", sums_path.as_str(), "--out", out.as_str()],
    );
    assert_ne!(render.code, 0, "{}", render.all());
    assert!(render.all().contains(&format!("lines 3 and {lines}")) && render.all().contains("sha256sums.txt"));
    assert!(!out.exists(), "no formula is written from an ambiguous sums file");
    let formula = repo.path("scratch/good.rb");
    let (_, fake) = world(|_| {});
    let mut text = String::new();
    fake.update(|r| text = r.formula.clone().unwrap());
    std::fs::write(&formula, text.replace("{github_web}", "https://github.com")).unwrap();
    let check = release(
        repo.root(),
        &["homebrew", "check", "v0.8.0", "--sha256sums", sums_path.as_str(), "--formula", formula.as_str()],
    );
    assert_ne!(check.code, 0, "{}", check.all());
    assert!(check.all().contains(&format!("lines 3 and {lines}")), "{}", check.all());
}

/// A formula with a second line of `what` for linux_amd64 inserted after the first.
fn formula_with_second(r: &mut PublishedRelease, what: &str) {
    let text = r.formula.take().unwrap();
    let asset = r.archive("linux_amd64");
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        out.push(line.to_string());
        in_block |= line.contains(&asset);
        if in_block && line.trim_start().starts_with(what) {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push(match what {
                "sha256" => format!("{indent}sha256 \"{}\"", "0".repeat(64)),
                _ => format!("{indent}url \"{{github_web}}/sandover/plasmite/releases/download/v0.8.0/other.tar.gz\""),
            });
            in_block = false;
        }
    }
    if what == "version" {
        let at = out.iter().position(|l| l.trim_start().starts_with("version ")).unwrap();
        out.insert(at + 1, "  version \"0.7.2\"".into());
    }
    r.formula = Some(out.join("\n") + "\n");
}

#[test]
fn a_formula_with_a_second_sha256_url_or_version_blocks_naming_both_lines() {
    for (what, subject, words) in [
        ("sha256", "homebrew formula", &["a second `sha256` for linux_amd64", "first on line"][..]),
        ("url", "homebrew formula linux_amd64", &["2 url block(s) for linux_amd64 (lines "][..]),
        ("version", "homebrew formula", &["a second `version` on line", "first on line"][..]),
    ] {
        let (repo, _fake) = world(|r| formula_with_second(r, what));
        let run = verify(&repo, "homebrew");
        assert_eq!(run.code, 1, "{what}: {}", run.all());
        finding_with(&run.json(), "fail", subject, words);
    }
}

#[test]
fn a_crates_index_with_a_second_yanked_line_for_the_version_blocks_naming_both_lines() {
    let (repo, _fake) = world(|r| {
        let mut again = r.crates.iter().find(|c| c.vers == "0.8.0").unwrap().clone();
        again.yanked = true;
        r.crates.push(again);
    });
    let run = verify(&repo, "crates");
    assert_eq!(run.code, 1, "{}", run.all());
    finding_with(&run.json(), "fail", "crates plasmite@0.8.0", &["index lines", "both list version 0.8.0", "yanked"]);
}

#[test]
fn a_published_sums_file_with_directories_fails_the_github_channel_but_homebrew_reads_it() {
    // The workflow's internal form (`shasum -a 256 release-inputs/dist/*.tar.gz`) uploaded as
    // the release asset: the digests are right, but users' `shasum -c` finds no such files.
    let (repo, _fake) = world(|r| {
        let sums = r.asset_mut("sha256sums.txt").unwrap();
        let text =
            String::from_utf8(sums.bytes.clone()).unwrap().replace("  plasmite_", "  release-inputs/dist/plasmite_");
        sums.bytes = text.into_bytes();
        sums.digest = Some(format!("sha256:{}", sha256_hex(&sums.bytes)));
    });
    let run = verify(&repo, "github");
    assert_eq!(run.code, 1, "{}", run.all());
    finding_with(
        &run.json(),
        "fail",
        "github asset plasmite_0.8.0_linux_amd64.tar.gz",
        &["names release-inputs/dist/plasmite_0.8.0_linux_amd64.tar.gz", "shasum -c"],
    );
    // The formula's alignment only needs the digests: the lines are found by base name.
    let run = verify(&repo, "homebrew");
    assert_eq!(run.code, 0, "{}", run.all());
}
