//! Resolution against a temporary machine: a fake home, `CARGO_HOME`, system root and
//! repository, all through [`Env`]; no real home directory is read.

use super::*;

const POLICY: &str = "[project]\nname = \"demo\"\n\n[[version]]\nfile = \"bindings/node/package.json\"\nfield = \"version\"\n\n\
                      [channel.npm]\npackage = \"demo\"\n";

struct World {
    _tmp: tempfile::TempDir,
    root: Utf8PathBuf,
    env: Env,
}

impl World {
    /// A repository at `<tmp>/work/repo`, a home at `<tmp>/home` (with `CARGO_HOME` inside),
    /// and an empty system root at `<tmp>/system`.
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(tmp.path().to_path_buf()).unwrap();
        for dir in ["work/repo/bindings/node", "home/.cargo", "system/etc"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let env =
            Env::empty().with("HOME", root.join("home").as_str()).with("CARGO_HOME", root.join("home/.cargo").as_str());
        World { _tmp: tmp, root, env }
    }

    fn file(&self, path: &str, text: &str) -> Utf8PathBuf {
        let path = self.root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn resolve_with(&self, policy: &str, env: &Env) -> ResolvedEndpoints {
        let policy = Policy::parse(Utf8Path::new("release/policy.toml"), policy).unwrap();
        let (repo, system) = (self.root.join("work/repo"), self.root.join("system"));
        resolve_on(&policy, Machine { env, repo: &repo, system: &system })
    }

    fn resolve(&self) -> ResolvedEndpoints {
        self.resolve_with(POLICY, &self.env)
    }
}

#[test]
fn defaults_with_nothing_configured() {
    let r = World::new().resolve();
    let got: Vec<_> =
        r.all().iter().map(|e| (e.key, e.url.clone().unwrap_or_default(), e.origin.to_string())).collect();
    let want = [
        ("crates_index", "https://index.crates.io", "default"),
        ("crates_download", "", "`dl` of the crates index's config.json, read when a .crate is downloaded"),
        ("npm", "https://registry.npmjs.org", "default"),
        ("pypi", "https://pypi.org", "default"),
        ("github_api", "https://api.github.com", "default"),
        ("github_web", "https://github.com", "default"),
    ];
    assert_eq!(got, want.map(|(k, u, o)| (k, u.to_string(), o.to_string())));
}

#[test]
fn the_policy_overrides_everything() {
    let w = World::new();
    w.file("home/.npmrc", "registry=https://npm.corp.example/\n");
    let env = w
        .env
        .clone()
        .with("PIP_INDEX_URL", "https://pip.corp.example/simple")
        .with("GITHUB_API_URL", "https://ghe/api/v3");
    let policy = format!(
        "{POLICY}\n[endpoints]\nnpm = \"https://pinned.example/npm/\"\npypi = \"https://pinned.example/pypi\"\ngithub_api = \"https://pinned.example/gh\"\n"
    );
    let r = w.resolve_with(&policy, &env);
    assert_eq!(r.npm.url.as_deref(), Some("https://pinned.example/npm"));
    assert_eq!(r.npm.origin.to_string(), "policy [endpoints].npm (release/policy.toml)");
    assert_eq!(r.pypi.url.as_deref(), Some("https://pinned.example/pypi"));
    assert_eq!(r.github_api.url.as_deref(), Some("https://pinned.example/gh"));
}

#[test]
fn cargo_source_replacement_nearest_config_first() {
    let w = World::new();
    w.file(
        "home/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"home-mirror\"\n[source.home-mirror]\nregistry = \"sparse+https://home.example/index/\"\n",
    );
    let r = w.resolve();
    assert_eq!(r.crates_index.url.as_deref(), Some("https://home.example/index"));
    assert_eq!(
        r.crates_index.origin.to_string(),
        format!(
            "{} (source.home-mirror.registry via source.crates-io.replace-with)",
            w.root.join("home/.cargo/config.toml")
        )
    );
    assert!(r.crates_download.url.is_none(), "a mirror's download base is its config.json `dl`");
    assert!(r.crates_download.problem.is_none(), "the index decides, so nothing is unresolved");
    // A folder above the repository is nearer than CARGO_HOME; the repository's own is nearest.
    w.file(
        "work/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"work\"\n[registries.work]\nindex = \"sparse+https://work.example/\"\n",
    );
    assert_eq!(w.resolve().crates_index.url.as_deref(), Some("https://work.example"));
    w.file("work/repo/.cargo/config", "[source.crates-io]\nreplace-with = \"home-mirror\"\n");
    let r = w.resolve();
    assert_eq!(
        r.crates_index.url.as_deref(),
        Some("https://home.example/index"),
        "the name from the repo, its definition from home"
    );
}

#[test]
fn cargo_git_and_vendored_sources_are_unresolved_naming_the_key() {
    let w = World::new();
    let config = w.file(
        "work/repo/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"corp\"\n[source.corp]\nregistry = \"https://git.corp.example/index.git\"\n",
    );
    let r = w.resolve();
    assert_eq!(r.crates_index.url, None);
    let detail = r.crates_index.unresolved_detail();
    assert!(detail.contains("is a git index") && detail.contains(config.as_str()), "{detail}");
    assert!(detail.contains("set `endpoints.crates_index` in the policy"), "{detail}");
    w.file(
        "work/repo/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"vendored\"\n[source.vendored]\ndirectory = \"vendor\"\n",
    );
    assert!(w.resolve().crates_index.unresolved_detail().contains("vendored sources (`vendor`)"));
    w.file(
        "work/repo/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"a\"\n[source.a]\nreplace-with = \"crates-io\"\n",
    );
    assert!(w.resolve().crates_index.unresolved_detail().contains("does not end"));
    w.file("work/repo/.cargo/config.toml", "[source.crates-io\n");
    assert!(w.resolve().crates_index.unresolved_detail().contains("not valid TOML"));
}

#[test]
fn cargo_git_protocol_for_crates_io_still_reads_the_sparse_index() {
    let w = World::new();
    let r = w.resolve_with(POLICY, &w.env.clone().with("CARGO_REGISTRIES_CRATES_IO_PROTOCOL", "git"));
    assert_eq!(r.crates_index.url.as_deref(), Some(CRATES_INDEX));
    assert!(r.crates_index.origin.to_string().contains("git protocol"));
}

#[test]
fn npm_environment_then_project_then_user_then_global() {
    let w = World::new();
    let global = w.file("system/prefix/etc/npmrc", "registry=https://global.example/\n");
    let env = w.env.clone().with("NPM_CONFIG_PREFIX", w.root.join("system/prefix").as_str());
    let r = w.resolve_with(POLICY, &env);
    assert_eq!(
        (r.npm.url.as_deref(), r.npm.origin.to_string()),
        (Some("https://global.example"), format!("{global} line 1 (registry)"))
    );
    let user = w.file("home/.npmrc", "; comment\nfund=false\nregistry = \"https://user.example/\"\n");
    let r = w.resolve_with(POLICY, &env);
    assert_eq!(
        (r.npm.url.as_deref(), r.npm.origin.to_string()),
        (Some("https://user.example"), format!("{user} line 3 (registry)"))
    );
    w.file("work/repo/.npmrc", "registry=https://root.example/\n");
    assert_eq!(w.resolve_with(POLICY, &env).npm.url.as_deref(), Some("https://root.example"));
    w.file("work/repo/bindings/node/.npmrc", "registry=https://package.example/\n");
    assert_eq!(w.resolve_with(POLICY, &env).npm.url.as_deref(), Some("https://package.example"));
    let r = w.resolve_with(POLICY, &env.clone().with("npm_config_registry", "https://env.example/"));
    assert_eq!(
        (r.npm.url.as_deref(), r.npm.origin.to_string()),
        (Some("https://env.example"), "environment npm_config_registry".into())
    );
    // NPM_CONFIG_USERCONFIG moves the user file.
    let other = w.file("elsewhere/npmrc", "registry=https://other-user.example\n");
    std::fs::remove_file(w.root.join("work/repo/.npmrc")).unwrap();
    std::fs::remove_file(w.root.join("work/repo/bindings/node/.npmrc")).unwrap();
    let r = w.resolve_with(POLICY, &env.with("NPM_CONFIG_USERCONFIG", other.as_str()));
    assert_eq!(r.npm.url.as_deref(), Some("https://other-user.example"));
}

#[test]
fn npm_scope_registry_and_unusable_values() {
    let w = World::new();
    w.file("home/.npmrc", "registry=https://all.example/\n@corp:registry=https://corp.example/npm/\n");
    let scoped = POLICY.replace("package = \"demo\"", "package = \"@corp/demo\"");
    assert_eq!(w.resolve_with(&scoped, &w.env).npm.url.as_deref(), Some("https://corp.example/npm"));
    assert_eq!(w.resolve().npm.url.as_deref(), Some("https://all.example"));
    w.file("home/.npmrc", "registry=${NPM_MIRROR}\n");
    let detail = w.resolve().npm.unresolved_detail();
    assert!(detail.contains("environment variable") && detail.contains("set `endpoints.npm`"), "{detail}");
}

#[test]
fn pypi_from_pip_and_uv_settings_simple_url_to_json_base() {
    let w = World::new();
    let system = w.file("system/etc/pip.conf", "[global]\ncert = /x\nindex-url = https://site.example/pypi/simple\n");
    let r = w.resolve();
    assert_eq!(
        (r.pypi.url.as_deref(), r.pypi.origin.to_string()),
        (Some("https://site.example/pypi"), format!("{system} line 3 ([global] index-url)"))
    );
    w.file(
        "home/.config/pip/pip.conf",
        "[global]\nindex-url = https://user.example/simple/\n[install]\nindex-url = https://install.example/simple\n",
    );
    assert_eq!(w.resolve().pypi.url.as_deref(), Some("https://install.example"), "[install] before [global]");
    let explicit = w.file("pip-explicit.conf", "[global]\nindex-url = https://explicit.example/simple\n");
    let env = w.env.clone().with("PIP_CONFIG_FILE", explicit.as_str());
    assert_eq!(w.resolve_with(POLICY, &env).pypi.url.as_deref(), Some("https://explicit.example"));
    let env = env.with("UV_INDEX_URL", "https://uv-old.example/simple");
    assert_eq!(w.resolve_with(POLICY, &env).pypi.url.as_deref(), Some("https://uv-old.example"));
    let env = env.with("UV_DEFAULT_INDEX", "https://uv.example/simple");
    assert_eq!(w.resolve_with(POLICY, &env).pypi.url.as_deref(), Some("https://uv.example"));
    let env = env.with("PIP_INDEX_URL", "https://pip.example/root/pypi/+simple/");
    let r = w.resolve_with(POLICY, &env);
    assert_eq!(r.pypi.url, None, "a devpi-style index has no known JSON base");
    let detail = r.pypi.unresolved_detail();
    assert!(detail.contains("environment PIP_INDEX_URL") && detail.contains("set `endpoints.pypi`"), "{detail}");
}

#[test]
fn pypi_from_uv_toml_default_index() {
    let w = World::new();
    let uv = w.file(
        "home/.config/uv/uv.toml",
        "[[index]]\nname = \"extra\"\nurl = \"https://extra.example/simple\"\n\n[[index]]\nname = \"corp\"\nurl = \"https://corp.example/simple/\"\ndefault = true\n",
    );
    let r = w.resolve();
    assert_eq!(
        (r.pypi.url.as_deref(), r.pypi.origin.to_string()),
        (Some("https://corp.example"), format!("{uv} ([[index]] default = true)"))
    );
    w.file("home/.config/uv/uv.toml", "index-url = \"https://old.example/simple\"\n");
    assert_eq!(w.resolve().pypi.url.as_deref(), Some("https://old.example"));
}

#[test]
fn github_from_the_actions_environment() {
    let w = World::new();
    let env = w
        .env
        .clone()
        .with("GITHUB_API_URL", "https://ghe.example/api/v3")
        .with("GITHUB_SERVER_URL", "https://ghe.example/");
    let r = w.resolve_with(POLICY, &env);
    assert_eq!(r.github_api.url.as_deref(), Some("https://ghe.example/api/v3"));
    assert_eq!(r.github_api.origin.to_string(), "environment GITHUB_API_URL");
    assert_eq!(r.github_web.url.as_deref(), Some("https://ghe.example"));
}

#[test]
fn ini_lines_read_sections_comments_and_quotes() {
    let lines = ini_lines("# c\n; c\n[global]\n a = 'x' \nb=\"y\"\nnot a pair\n");
    assert_eq!(lines, [("global".into(), "a".into(), "x".into(), 4), ("global".into(), "b".into(), "y".into(), 5)]);
}
