//! `cargo xtask release notices` end to end: archives built here with flate2/tar/zip in a
//! plasmite fixture repository.

use std::{fs, io::Write};

use camino::Utf8Path;
use release_core::testing::FixtureRepo;
use tests::{Run, finding, release};

const LICENSE: &str = "MIT License\n\nCopyright (c) the fixture authors\n";
const NOTICES: &str = "# Third-party notices\n\n- vendor/lite3: MIT\n";

/// Writes a gzipped tar with these (member, contents) at `path` (folders created).
fn tar_gz(path: &Utf8Path, members: &[(&str, &[u8])]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let gz = flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

fn wheel(path: &Utf8Path, members: &[(&str, &[u8])]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, data) in members {
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

/// Every kind of release archive, each with both files at its exact path.
fn good_artifacts(repo: &FixtureRepo) {
    let l = LICENSE.as_bytes();
    let n = NOTICES.as_bytes();
    tar_gz(
        &repo.path("bindings/python/dist/plasmite-0.8.0.tar.gz"),
        &[
            ("plasmite-0.8.0/PKG-INFO", b"x"),
            ("plasmite-0.8.0/LICENSE", l),
            ("plasmite-0.8.0/THIRD_PARTY_NOTICES.md", n),
        ],
    );
    wheel(
        &repo.path("bindings/python/dist/plasmite-0.8.0-cp311-cp311-linux_x86_64.whl"),
        &[
            ("plasmite-0.8.0.data/purelib/plasmite/__init__.py", b""),
            ("plasmite-0.8.0.dist-info/licenses/LICENSE", l),
            ("plasmite-0.8.0.dist-info/licenses/THIRD_PARTY_NOTICES.md", n),
        ],
    );
    tar_gz(
        &repo.path("bindings/node/plasmite-0.8.0.tgz"),
        &[("package/package.json", b"{}"), ("package/LICENSE", l), ("package/THIRD_PARTY_NOTICES.md", n)],
    );
    tar_gz(
        &repo.path("dist/plasmite_0.8.0_linux-x64.tar.gz"),
        &[
            ("./bin/plasmite", b"elf"),
            ("./LICENSE", l),
            ("./THIRD_PARTY_NOTICES.md", n),
            // The members plasmite's policy lists for a Linux SDK archive.
            ("./bin/pls", b"elf"),
            ("./include/plasmite.h", b"h"),
            ("./lib/libplasmite.a", b"a"),
            ("./lib/libplasmite.so", b"so"),
            ("./lib/pkgconfig/plasmite.pc", b"pc"),
        ],
    );
    tar_gz(
        &repo.path(".scratch/release/downloaded/crate/plasmite-0.8.0.crate"),
        &[
            ("plasmite-0.8.0/Cargo.toml", b"[package]"),
            ("plasmite-0.8.0/LICENSE", l),
            ("plasmite-0.8.0/THIRD_PARTY_NOTICES.md", n),
        ],
    );
}

fn notices(repo: &FixtureRepo, paths: &[&str]) -> Run {
    let mut args = vec!["notices", "--json"];
    args.extend_from_slice(paths);
    release(repo.root(), &args)
}

#[test]
fn every_archive_kind_passes_with_the_files_at_their_exact_paths() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    good_artifacts(&repo);
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    for subject in [
        "LICENSE",
        "THIRD_PARTY_NOTICES.md",
        "bindings/python/LICENSE",
        "bindings/python/THIRD_PARTY_NOTICES.md",
        "bindings/python/dist/plasmite-0.8.0.tar.gz",
        "bindings/python/dist/plasmite-0.8.0-cp311-cp311-linux_x86_64.whl",
        "bindings/node/plasmite-0.8.0.tgz",
        "dist/plasmite_0.8.0_linux-x64.tar.gz",
        ".scratch/release/downloaded/crate/plasmite-0.8.0.crate",
    ] {
        assert_eq!(finding(&report, subject)["status"], "pass", "{subject}: {report:#}");
    }
    let wheel = finding(&report, "bindings/python/dist/plasmite-0.8.0-cp311-cp311-linux_x86_64.whl");
    assert!(wheel["detail"].as_str().unwrap().contains("plasmite-0.8.0.dist-info/licenses/LICENSE"), "{wheel:#}");
}

#[test]
fn a_vendored_licence_elsewhere_does_not_count() {
    // Bug 34: `/LICENSE$` matched anywhere, so vendor/x/LICENSE satisfied the sdist rule.
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let sdist = repo.path("bindings/python/dist/plasmite-0.8.0.tar.gz");
    tar_gz(
        &sdist,
        &[
            ("plasmite-0.8.0/vendor/lite3/LICENSE", LICENSE.as_bytes()),
            ("plasmite-0.8.0/THIRD_PARTY_NOTICES.md", NOTICES.as_bytes()),
        ],
    );
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let f = finding(&run.json(), "bindings/python/dist/plasmite-0.8.0.tar.gz").clone();
    assert_eq!(f["status"], "fail");
    let detail = f["detail"].as_str().unwrap();
    assert!(detail.contains("no plasmite-0.8.0/LICENSE"), "{detail}");
    assert!(detail.contains("plasmite-0.8.0/vendor/lite3/LICENSE elsewhere does not count"), "{detail}");
}

#[test]
fn archives_as_built_today_fail_sdk_and_npm() {
    // Bug 33: the SDK archive and the npm tarball carry neither file.
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    tar_gz(
        &repo.path("dist/plasmite_0.8.0_linux-x64.tar.gz"),
        &[("./bin/plasmite", b"elf"), ("./lib/libplasmite.so", b"so")],
    );
    tar_gz(&repo.path("bindings/node/plasmite-0.8.0.tgz"), &[("package/package.json", b"{}")]);
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    let sdk = finding(&report, "dist/plasmite_0.8.0_linux-x64.tar.gz");
    assert!(sdk["detail"].as_str().unwrap().contains("no LICENSE; no THIRD_PARTY_NOTICES.md"), "{sdk:#}");
    let npm = finding(&report, "bindings/node/plasmite-0.8.0.tgz");
    assert!(npm["detail"].as_str().unwrap().contains("no package/LICENSE"), "{npm:#}");
}

#[test]
fn drifted_copies_fail() {
    // Bug 33: bindings/python kept its own copies with no sync check.
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    good_artifacts(&repo);
    repo.write("bindings/python/THIRD_PARTY_NOTICES.md", "# Third-party notices\n\n(old)\n").unwrap();
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let f = finding(&run.json(), "bindings/python/THIRD_PARTY_NOTICES.md").clone();
    assert_eq!(f["status"], "fail");
    assert!(f["detail"].as_str().unwrap().contains("differs from THIRD_PARTY_NOTICES.md"), "{f:#}");
}

#[test]
fn nothing_to_check_is_incomplete_but_a_missing_root_licence_still_fails() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    let f = finding(&run.json(), "release archives").clone();
    assert_eq!(f["status"], "incomplete");
    assert!(f["detail"].as_str().unwrap().contains("bindings/python/dist/"), "{f:#}");

    // Bug 34: "incomplete" won over a failed repo-level check. Here the failure wins.
    fs::remove_file(repo.path("LICENSE")).unwrap();
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(finding(&run.json(), "LICENSE")["status"], "fail");
}

#[test]
fn a_corrupt_archive_fails_naming_the_file() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    good_artifacts(&repo);
    repo.write("dist/plasmite_0.8.0_darwin-arm64.tar.gz", b"\x1f\x8b\x08\x00garbage").unwrap();
    // A truncated wheel: the first half of a real one.
    let whl = repo.path("bindings/python/dist/plasmite-0.8.0-cp311-cp311-linux_x86_64.whl");
    let bytes = fs::read(&whl).unwrap();
    fs::write(&whl, &bytes[..bytes.len() / 2]).unwrap();
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    for subject in
        ["dist/plasmite_0.8.0_darwin-arm64.tar.gz", "bindings/python/dist/plasmite-0.8.0-cp311-cp311-linux_x86_64.whl"]
    {
        let f = finding(&report, subject);
        assert_eq!(f["status"], "fail", "{f:#}");
        assert!(f["detail"].as_str().unwrap().starts_with("cannot read the archive"), "{f:#}");
    }
    // The other archives were still checked.
    assert_eq!(finding(&report, "bindings/node/plasmite-0.8.0.tgz")["status"], "pass");
}

#[test]
fn a_large_archive_with_the_licence_last_is_read_to_the_end() {
    // Bug 34: `tar -tzf | rg -q` under pipefail could report a false "missing" on big archives.
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let blob = vec![7u8; 4096];
    let names: Vec<String> = (0..3000).map(|i| format!("./lib/part-{i:04}.bin")).collect();
    let mut members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), blob.as_slice())).collect();
    members.push(("./THIRD_PARTY_NOTICES.md", NOTICES.as_bytes()));
    for member in ["./bin/plasmite", "./bin/pls", "./include/plasmite.h", "./lib/libplasmite.a", "./lib/libplasmite.so"]
    {
        members.push((member, b"x"));
    }
    members.push(("./lib/pkgconfig/plasmite.pc", b"x"));
    members.push(("./LICENSE", LICENSE.as_bytes()));
    let path = repo.scratch().join("big/plasmite_0.8.0_linux-x64.tar.gz");
    tar_gz(&path, &members);
    let run = notices(&repo, &[path.as_str()]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn explicit_paths_replace_the_default_folders() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    good_artifacts(&repo);
    // A broken archive in a default folder is not looked at when paths are given.
    tar_gz(&repo.path("dist/plasmite_0.8.0_bad.tar.gz"), &[("./bin/plasmite", b"elf")]);
    let run = notices(&repo, &["bindings/node/plasmite-0.8.0.tgz", "bindings/python/dist"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let archives = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"].as_str().unwrap().contains("0.8.0"))
        .count();
    assert_eq!(archives, 3, "{}", run.stdout);

    let run = notices(&repo, &["no/such/dir"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("no/such/dir does not exist"), "{}", run.all());
    // Human output names each archive.
    let human = release(repo.root(), &["notices", "dist/plasmite_0.8.0_bad.tar.gz"]);
    assert_eq!(human.code, 1, "{}", human.all());
    let named = human.stdout.lines().any(|l| {
        l.split_whitespace().next() == Some("FAIL") && l.contains("dist/plasmite_0.8.0_bad.tar.gz: SDK archive")
    });
    assert!(named, "{}", human.stdout);
}

#[test]
fn a_stale_archive_beside_the_release_is_left_out_and_named() {
    // A 0.7.2 sdist left in the folder (and a 10.8.0 one: no substring match, bug 31) must not
    // stand in for the 0.8.0 release; its own archives still decide.
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    good_artifacts(&repo);
    for stale in ["0.7.2", "10.8.0"] {
        tar_gz(
            &repo.path(&format!("bindings/python/dist/plasmite-{stale}.tar.gz")),
            &[(&format!("plasmite-{stale}/LICENSE"), LICENSE.as_bytes())],
        );
    }
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["target"], "v0.8.0", "{report:#}");
    for (stale, subject) in [
        ("0.7.2", "bindings/python/dist/plasmite-0.7.2.tar.gz"),
        ("10.8.0", "bindings/python/dist/plasmite-10.8.0.tar.gz"),
    ] {
        let f = finding(&report, subject);
        assert_eq!(f["status"], "skipped", "{f:#}");
        let why = format!("not this release's archive (carries {stale}, the release is 0.8.0)");
        assert!(f.to_string().contains(&why), "{f:#}");
    }
    assert_eq!(finding(&report, "bindings/python/dist/plasmite-0.8.0.tar.gz")["status"], "pass");

    // A release's own archive with a missing licence fails though a stale one beside it is whole.
    tar_gz(&repo.path("dist/plasmite_0.8.0_linux-x64.tar.gz"), &[("./bin/plasmite", b"elf")]);
    tar_gz(
        &repo.path("dist/plasmite_0.7.2_linux-x64.tar.gz"),
        &[("./LICENSE", LICENSE.as_bytes()), ("./THIRD_PARTY_NOTICES.md", NOTICES.as_bytes())],
    );
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(finding(&run.json(), "dist/plasmite_0.8.0_linux-x64.tar.gz")["status"], "fail");
}

#[test]
fn only_a_stale_archive_is_not_ready() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    tar_gz(
        &repo.path("dist/plasmite-0.7.2.tar.gz"),
        &[
            ("plasmite-0.7.2/LICENSE", LICENSE.as_bytes()),
            ("plasmite-0.7.2/THIRD_PARTY_NOTICES.md", NOTICES.as_bytes()),
        ],
    );
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    let report = run.json();
    assert_eq!(finding(&report, "dist/plasmite-0.7.2.tar.gz")["status"], "skipped", "{report:#}");
    let f = finding(&report, "release archives");
    assert_eq!(f["status"], "incomplete", "{f:#}");
    let detail = f["detail"].as_str().unwrap();
    assert!(detail.contains("no archive of v0.8.0") && detail.contains("dist/plasmite-0.7.2.tar.gz"), "{detail}");

    // Named explicitly, it still does not count; `--target v0.7.2` is the release it is for.
    let run = notices(&repo, &["dist/plasmite-0.7.2.tar.gz"]);
    assert_eq!(run.code, 3, "{}", run.all());
    let run = notices(&repo, &["--target", "v0.7.2", "dist/plasmite-0.7.2.tar.gz"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["target"], "v0.7.2");
    let run = notices(&repo, &["--target", "0.8.01"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

#[test]
fn an_archive_whose_name_carries_no_version_is_incomplete_naming_it() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    good_artifacts(&repo);
    tar_gz(
        &repo.path("dist/plasmite-latest.tar.gz"),
        &[("plasmite-latest/LICENSE", LICENSE.as_bytes()), ("plasmite-latest/THIRD_PARTY_NOTICES.md", b"n")],
    );
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    let f = finding(&run.json(), "dist/plasmite-latest.tar.gz").clone();
    assert_eq!(f["status"], "incomplete", "{f:#}");
    assert!(f["detail"].as_str().unwrap().contains("plasmite-latest.tar.gz: no release version"), "{f:#}");
}

#[test]
fn without_an_agreed_version_the_target_must_be_named() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    good_artifacts(&repo);
    // Half a bump: package.json says 0.9.0, so no version is agreed on.
    let package = fs::read_to_string(repo.path("bindings/node/package.json")).unwrap();
    repo.write("bindings/node/package.json", package.replacen("0.8.0", "0.9.0", 1)).unwrap();
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("(--target)") && run.stderr.contains("pass vX.Y.Z"), "{}", run.all());
    let run = notices(&repo, &["--target", "v0.8.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

/// A gzipped tar of SDK members; `links` are (member, symlink target), `dirs` are folders.
fn sdk_archive(path: &Utf8Path, files: &[&str], links: &[(&str, &str)], dirs: &[&str]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let gz = flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for name in files {
        let body: &[u8] = match *name {
            "LICENSE" => LICENSE.as_bytes(),
            "THIRD_PARTY_NOTICES.md" => NOTICES.as_bytes(),
            _ => b"content",
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append_data(&mut header, name, body).unwrap();
    }
    for (name, target) in links {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_cksum();
        tar.append_link(&mut header, name, target).unwrap();
    }
    for name in dirs {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append_data(&mut header, format!("{name}/"), &b""[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

/// The crate as plasmite declares it: `plasmite` (src/main.rs, explicit), `pls` and
/// `plasmite-conformance` (auto-discovered under src/bin).
fn three_binaries(repo: FixtureRepo) -> FixtureRepo {
    repo.write("src/main.rs", "fn main() {}\n").unwrap();
    repo.write("src/bin/pls.rs", "fn main() {}\n").unwrap();
    repo.write("src/bin/plasmite-conformance.rs", "fn main() {}\n").unwrap();
    let cargo = std::fs::read_to_string(repo.path("Cargo.toml")).unwrap();
    repo.write(
        "Cargo.toml",
        cargo.replace(
            "[package.metadata.binstall]\n",
            "[package.metadata.binstall]\nbin-dir = \"bin/{ bin }{ binary-ext }\"\n",
        ) + "\n[[bin]]\nname = \"plasmite\"\npath = \"src/main.rs\"\n",
    )
    .unwrap();
    repo
}

#[test]
fn every_sdk_archive_holds_the_policy_members_and_the_binaries_binstall_needs() {
    let repo = three_binaries(FixtureRepo::plasmite("0.8.0").build().unwrap());
    let common =
        ["LICENSE", "THIRD_PARTY_NOTICES.md", "bin/plasmite", "bin/pls", "include/plasmite.h", "lib/libplasmite.a"];
    // Linux: the .so is a link to the versioned file inside; the .pc is missing.
    let linux = repo.path("dist/plasmite_0.8.0_linux_amd64.tar.gz");
    let mut files = common.to_vec();
    files.push("lib/libplasmite.so.0");
    sdk_archive(&linux, &files, &[("lib/libplasmite.so", "libplasmite.so.0")], &["lib"]);
    // macOS arm64: the dylib points outside the archive, the header is a folder.
    let mac = repo.path("dist/plasmite_0.8.0_darwin_arm64.tar.gz");
    let files: Vec<&str> = common.iter().copied().filter(|f| *f != "include/plasmite.h").collect();
    let mut files = files;
    files.push("lib/pkgconfig/plasmite.pc");
    sdk_archive(
        &mac,
        &files,
        &[("lib/libplasmite.dylib", "../../../usr/lib/libplasmite.dylib")],
        &["include/plasmite.h"],
    );
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    tests::finding_with(&report, "fail", "dist/plasmite_0.8.0_linux_amd64.tar.gz", &["no lib/pkgconfig/plasmite.pc"]);
    let mac_members = tests::findings(&report, "notices.members")
        .into_iter()
        .find(|f| f["subject"] == "dist/plasmite_0.8.0_darwin_arm64.tar.gz")
        .unwrap()
        .clone();
    let detail = mac_members["detail"].as_str().unwrap();
    assert!(detail.contains("include/plasmite.h is a directory, a file is required"), "{detail}");
    assert!(
        detail
            .contains("lib/libplasmite.dylib is a symlink to ../../../usr/lib/libplasmite.dylib, outside the archive"),
        "{detail}"
    );
    assert!(!detail.contains("libplasmite.so"), "a macOS archive needs no .so: {detail}");
    // Bug 43: binstall (preview) needs plasmite-conformance too; both archives lack it.
    let binstall = tests::findings(&report, "notices.binstall");
    assert_eq!(binstall.len(), 2, "{report:#}");
    for f in binstall {
        assert_eq!(f["status"], "fail", "{f:#}");
        let detail = f["detail"].as_str().unwrap();
        assert!(
            detail.contains("cargo_binstall (preview)") && detail.contains("no bin/plasmite-conformance"),
            "{detail}"
        );
        assert!(detail.contains("auto-discovered src/bin/plasmite-conformance.rs"), "{detail}");
        assert!(!detail.contains("no bin/pls"), "{detail}");
    }
    // Everything in place, and the conformance binary marked optional: all pass.
    let files = [
        "LICENSE",
        "THIRD_PARTY_NOTICES.md",
        "bin/plasmite",
        "bin/pls",
        "include/plasmite.h",
        "lib/libplasmite.a",
        "lib/pkgconfig/plasmite.pc",
        "lib/libplasmite.so",
    ];
    sdk_archive(&linux, &files, &[], &[]);
    std::fs::remove_file(&mac).unwrap();
    let cargo = std::fs::read_to_string(repo.path("Cargo.toml")).unwrap();
    repo.write(
        "Cargo.toml",
        cargo + "\n[[bin]]\nname = \"plasmite-conformance\"\npath = \"src/bin/plasmite-conformance.rs\"\nrequired-features = [\"conformance\"]\n",
    )
    .unwrap();
    let run = notices(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(tests::findings(&report, "notices.members")[0]["status"], "pass", "{report:#}");
    assert_eq!(tests::findings(&report, "notices.binstall")[0]["status"], "pass", "{report:#}");
}
