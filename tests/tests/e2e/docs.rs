//! docs/commands.md against the real command line: every `release` command and every flag its
//! `--help` lists is documented, and every command and flag the page documents exists.
//!
//! "Documented" means: a `## command` section, and a synopsis line (`cargo xtask release ...`,
//! in a code block, with its continuation lines, or as a line of inline code) naming the flag,
//! or the table of options every command takes. Flags named in prose are not counted: the
//! prose also names other tools' flags (`cargo publish --locked`).

use std::collections::{BTreeMap, BTreeSet};

use tests::{Help, help_text, parse_help, workspace_root};

/// A command path below `release` (`["qa"]`, `["homebrew", "render"]`); empty for `release`.
type CommandPath = Vec<String>;

/// `cargo xtask release <path> --help` of the real binary.
fn help_of(path: &[String]) -> Help {
    let text = help_text(path);
    let help = parse_help(&text);
    assert!(help.flags.contains("--help"), "no options read from the help of {path:?}:\n{text}");
    help
}

/// Every command of the real CLI, `release` itself first, with its help.
fn cli() -> BTreeMap<CommandPath, Help> {
    let mut all = BTreeMap::new();
    let mut todo: Vec<CommandPath> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let help = help_of(&path);
        for name in &help.commands {
            todo.push([path.clone(), vec![name.clone()]].concat());
        }
        all.insert(path, help);
    }
    all
}

/// What docs/commands.md documents.
#[derive(Debug, Default)]
struct Doc {
    /// The `## command` headings.
    sections: BTreeSet<String>,
    /// The flags of each command's synopsis lines.
    synopses: BTreeMap<CommandPath, BTreeSet<String>>,
    /// The options table above the first section (options every command takes).
    common: BTreeSet<String>,
}

/// The `--flags` in a piece of text.
fn flags_in(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices("--").filter_map(|(at, _)| {
        let before = text[..at].chars().next_back();
        let name: String = text[at + 2..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        let starts_a_word = before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '-');
        (starts_a_word && name.starts_with(|c: char| c.is_ascii_lowercase())).then(|| format!("--{name}"))
    })
}

fn parse_doc(text: &str) -> Doc {
    let mut doc = Doc::default();
    let mut in_code = false;
    // The command whose synopsis the lines of the current code block continue.
    let mut current: Option<CommandPath> = None;
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            current = None;
            continue;
        }
        if let Some(heading) = line.strip_prefix("## ") {
            doc.sections.insert(heading.split_whitespace().next().unwrap_or_default().to_string());
            continue;
        }
        if doc.sections.is_empty() && line.starts_with("| `--") {
            doc.common.extend(flags_in(line));
            continue;
        }
        let inline = line.strip_prefix('`').and_then(|l| l.strip_suffix('`'));
        let synopsis = if in_code { Some(line) } else { inline };
        let Some(synopsis) = synopsis else { continue };
        if let Some(rest) = synopsis.trim_start().strip_prefix("cargo xtask release ") {
            let path: CommandPath = rest
                .split_whitespace()
                .take_while(|w| {
                    w.starts_with(|c: char| c.is_ascii_lowercase())
                        && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                })
                .map(str::to_string)
                .collect();
            current = Some(path);
        } else if !in_code {
            continue;
        }
        if let Some(path) = &current {
            doc.synopses.entry(path.clone()).or_default().extend(flags_in(synopsis));
        }
        if !in_code {
            current = None;
        }
    }
    doc
}

#[test]
fn docs_commands_match_the_cli() {
    let cli = cli();
    let path = workspace_root().join("docs/commands.md");
    let doc = parse_doc(&std::fs::read_to_string(&path).unwrap());
    let root = &cli[&Vec::new()];
    assert!(root.commands.len() >= 10, "too few commands read from `release --help`: {root:?}");
    assert!(doc.synopses.len() >= 10, "too few synopses read from {}: {doc:?}", path.display());
    let show = |p: &CommandPath| format!("`release {}`", p.join(" "));
    let mut wrong = Vec::new();

    // The CLI is documented.
    for (cmd, help) in cli.iter().filter(|(p, _)| !p.is_empty()) {
        if cmd.len() == 1 && !doc.sections.contains(&cmd[0]) {
            wrong.push(format!("{} has no `## {}` section", show(cmd), cmd[0]));
        }
        if !help.commands.is_empty() {
            continue; // documented through its subcommands
        }
        let Some(synopsis) = doc.synopses.get(cmd) else {
            wrong.push(format!("{} has no synopsis line", show(cmd)));
            continue;
        };
        for flag in help.flags.iter().filter(|f| *f != "--help") {
            if !synopsis.contains(flag) && !doc.common.contains(flag) {
                wrong.push(format!("{} {flag} is not documented", show(cmd)));
            }
        }
    }
    // Everything documented exists.
    for section in &doc.sections {
        if !root.commands.contains(section) {
            wrong.push(format!("section `## {section}` is not a release command"));
        }
    }
    for (cmd, flags) in &doc.synopses {
        let Some(help) = cli.get(cmd) else {
            wrong.push(format!("{} is documented but does not exist", show(cmd)));
            continue;
        };
        for flag in flags.iter().filter(|f| !help.flags.contains(*f)) {
            wrong.push(format!("{} {flag} is documented but does not exist", show(cmd)));
        }
    }
    for flag in doc.common.iter().filter(|f| !root.flags.contains(*f)) {
        wrong.push(format!("common option {flag} is documented but `release --help` does not list it"));
    }
    assert!(wrong.is_empty(), "{} and the CLI disagree:\n{}", path.display(), wrong.join("\n"));
}

#[test]
fn clap_help_is_read_without_flags_named_in_descriptions() {
    let text = "Run gates.\n\nUsage: cargo xtask release qa [OPTIONS]\n\nCommands:\n  render  Write it\n  help    Print this\n\n\
                Options:\n      --base-tag <TAG>\n          The base, with the matching --reason\n\n  -o, --out=<FILE>  Where\n  -h, --help\n          Print help\n";
    let help = parse_help(text);
    assert_eq!(help.commands, ["render"]);
    assert_eq!(help.flags, BTreeSet::from(["--base-tag".into(), "--out".into(), "--help".into()]));
}
