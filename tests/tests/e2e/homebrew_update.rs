//! The Homebrew files plasmite really has (issue 11): a sums file written by
//! `shasum -a 256 release-inputs/dist/*.tar.gz` (directories before names), and a tap formula
//! updated in place by `homebrew update`, every other byte kept.

use release_core::testing::FixtureRepo;
use tests::release;

const DIGESTS_072: [&str; 3] = [
    "0101010101010101010101010101010101010101010101010101010101010101",
    "0202020202020202020202020202020202020202020202020202020202020202",
    "0303030303030303030303030303030303030303030303030303030303030303",
];
const DIGESTS_080: [&str; 3] = [
    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
    "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3",
];

/// A formula of the tap's shape (written for this test): desc, homepage, version, license,
/// `on_macos` with `if Hardware::CPU.arm?`/`else`, `on_linux` with an x86-64 url and an `odie`
/// branch, an install block of several lines, a test block. `digests`: darwin_arm64,
/// darwin_amd64, linux_amd64.
fn formula(version: &str, digests: [&str; 3]) -> String {
    let url = |platform: &str| {
        format!(
            "https://github.com/sandover/plasmite/releases/download/v{version}/plasmite_{version}_{platform}.tar.gz"
        )
    };
    format!(
        "class Plasmite < Formula\n  desc \"Fixture message pools, CLI and SDK\"\n  homepage \"https://github.com/sandover/plasmite\"\n  \
         version \"{version}\"\n  license \"MIT\"\n\n  on_macos do\n    if Hardware::CPU.arm?\n      url \"{}\"\n      sha256 \"{}\"\n    \
         else\n      url \"{}\"\n      sha256 \"{}\"\n    end\n  end\n\n  on_linux do\n    if Hardware::CPU.intel?\n      url \"{}\"\n      \
         sha256 \"{}\"\n    else\n      odie \"Fixture: x86_64 Linux only\"\n    end\n  end\n\n  def install\n    \
         bin.install \"bin/plasmite\", \"bin/pls\"\n    include.install \"include/plasmite.h\"\n    \
         lib.install \"lib/libplasmite.dylib\", \"lib/libplasmite.a\"\n    (lib/\"pkgconfig\").install \"lib/pkgconfig/plasmite.pc\"\n  \
         end\n\n  test do\n    system bin/\"plasmite\", \"--version\"\n    system bin/\"pls\", \"--version\"\n  end\nend\n",
        url("darwin_arm64"),
        digests[0],
        url("darwin_amd64"),
        digests[1],
        url("linux_amd64"),
        digests[2],
    )
}

/// The sums file exactly as plasmite's publish workflow writes it (glob order, directories kept).
fn workflow_sums(version: &str, digests: [&str; 3]) -> String {
    format!(
        "{}  release-inputs/dist/plasmite_{version}_darwin_amd64.tar.gz\n\
         {}  release-inputs/dist/plasmite_{version}_darwin_arm64.tar.gz\n\
         {}  release-inputs/dist/plasmite_{version}_linux_amd64.tar.gz\n",
        digests[1], digests[0], digests[2]
    )
}

fn repo() -> FixtureRepo {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    repo.write("tap/Formula/plasmite.rb", formula("0.7.2", DIGESTS_072)).unwrap();
    repo.write("scratch/sha256sums.txt", workflow_sums("0.8.0", DIGESTS_080)).unwrap();
    repo
}

fn update(repo: &FixtureRepo, target: &str, extra: &[&str]) -> tests::Run {
    let (sums, formula) = (repo.path("scratch/sha256sums.txt"), repo.path("tap/Formula/plasmite.rb"));
    let mut args = vec!["homebrew", "update", target, "--sha256sums", sums.as_str(), "--formula", formula.as_str()];
    args.extend_from_slice(extra);
    release(repo.root(), &args)
}

#[test]
fn check_and_render_read_a_sums_file_with_directories_as_the_workflow_writes_it() {
    let repo = repo();
    repo.write("tap/Formula/plasmite.rb", formula("0.8.0", DIGESTS_080)).unwrap();
    let sums = repo.path("scratch/sha256sums.txt");
    let formula_path = repo.path("tap/Formula/plasmite.rb");
    let check = release(
        repo.root(),
        &["homebrew", "check", "v0.8.0", "--sha256sums", sums.as_str(), "--formula", formula_path.as_str()],
    );
    assert_eq!(check.code, 0, "{}", check.all());
    let render = release(repo.root(), &["homebrew", "render", "v0.8.0", "--sha256sums", sums.as_str()]);
    assert_eq!(render.code, 0, "{}", render.all());
    for digest in DIGESTS_080 {
        assert!(render.stdout.contains(digest), "{}", render.stdout);
    }
    // A new formula's lines come from the policy: plasmite's install list, and the shared
    // library by operating system (bug 22: never the .dylib on Linux).
    for line in [
        "  desc \"Persistent JSON message queues with a CLI and native SDK\"\n",
        "  homepage \"https://github.com/sandover/plasmite\"\n",
        "    (lib/\"pkgconfig\").install \"lib/pkgconfig/plasmite.pc\"\n",
        "    if OS.mac?\n      lib.install \"lib/libplasmite.dylib\"\n    elsif OS.linux?\n      lib.install \"lib/libplasmite.so\"\n    end\n",
    ] {
        assert!(render.stdout.contains(line), "{line}: {}", render.stdout);
    }
    // Two directories holding one archive name: the lookup by name could take either.
    let twice = workflow_sums("0.8.0", DIGESTS_080).replace("release-inputs/dist/", "a/")
        + &format!("{}  b/plasmite_0.8.0_linux_amd64.tar.gz\n", DIGESTS_072[2]);
    repo.write("scratch/sha256sums.txt", twice).unwrap();
    let check = release(
        repo.root(),
        &["homebrew", "check", "v0.8.0", "--sha256sums", sums.as_str(), "--formula", formula_path.as_str()],
    );
    assert_eq!(check.code, 2, "{}", check.all());
    assert!(check.stderr.contains("lines 3 and 4") && check.stderr.contains("written as a/"), "{}", check.all());
}

#[test]
fn update_turns_the_old_formula_into_the_new_one_byte_for_byte() {
    let repo = repo();
    let path = repo.path("tap/Formula/plasmite.rb");
    // --check: the tap is behind, nothing written, exit 1 naming the lines.
    let run = update(&repo, "v0.8.0", &["--check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("0.7.2 -> 0.8.0, 7 line(s)"), "{}", run.all());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), formula("0.7.2", DIGESTS_072));
    // --stdout: the formula on stdout, nothing written.
    let run = update(&repo, "v0.8.0", &["--stdout"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stdout, formula("0.8.0", DIGESTS_080));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), formula("0.7.2", DIGESTS_072));
    // In place.
    let run = update(&repo, "v0.8.0", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), formula("0.8.0", DIGESTS_080));
    // Again: already there.
    let run = update(&repo, "v0.8.0", &["--check"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("already at v0.8.0"), "{}", run.all());
    let run = update(&repo, "v0.8.0", &["--json"]);
    assert_eq!(run.json()["changes"].as_array().unwrap().len(), 0, "{}", run.all());
    // Back to an older release: refused, nothing written.
    repo.write("scratch/sha256sums.txt", workflow_sums("0.7.2", DIGESTS_072)).unwrap();
    let run = update(&repo, "v0.7.2", &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("the formula is at 0.8.0, newer than 0.7.2"), "{}", run.all());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), formula("0.8.0", DIGESTS_080));
}

#[test]
fn a_malformed_formula_is_refused_naming_the_line_and_left_as_it_was() {
    let repo = repo();
    let path = repo.path("tap/Formula/plasmite.rb");
    let good = formula("0.7.2", DIGESTS_072);
    let cases = [
        (
            good.replacen(&format!("      sha256 \"{}\"\n", DIGESTS_072[2]), "", 1),
            "plasmite.rb:19: the url has no `sha256",
        ),
        (
            good.replacen(
                &format!("      sha256 \"{}\"\n", DIGESTS_072[1]),
                &format!("      sha256 \"{}\"\n      sha256 \"{}\"\n", DIGESTS_072[1], DIGESTS_072[0]),
                1,
            ),
            "a second `sha256` for darwin_amd64 on line 14",
        ),
        ("class Plasmite < Formula\n  version \"0.7.2\"\nend\n".to_string(), "plasmite.rb: no `url"),
        // The linux_amd64 archive in an arm block: the update would leave the manifest's
        // linux_amd64 without a block, so it writes nothing.
        (
            good.replacen("    if Hardware::CPU.intel?\n", "    if Hardware::CPU.arm?\n", 1),
            "0 url block(s) for linux_amd64",
        ),
    ];
    for (text, says) in cases {
        std::fs::write(&path, &text).unwrap();
        let run = update(&repo, "v0.8.0", &[]);
        assert_eq!(run.code, 2, "{says}: {}", run.all());
        assert!(run.stderr.contains(says) && run.stderr.contains("tap/Formula/plasmite.rb"), "{says}: {}", run.all());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "never half-written");
    }
    // A url for another project: the update finds its archive but the result is not aligned.
    let elsewhere = good.replace("sandover/plasmite/releases", "someone/else/releases");
    std::fs::write(&path, &elsewhere).unwrap();
    let run = update(&repo, "v0.8.0", &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("would still not match v0.8.0"), "{}", run.all());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), elsewhere);
}
