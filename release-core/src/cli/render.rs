//! Output: human text (status words, coloured as [`Paint`] decides) or JSON (one envelope,
//! docs/schema/report.schema.json); in GitHub Actions also annotations and a step summary.

use std::io::{IsTerminal, Write};

use anyhow::Context as _;

use super::args::Common;
use crate::{
    env::Env,
    redact::Redactor,
    report::{Evidence, Outcome, Report},
    verify::PartialPublish,
};

/// Prints a report as the common options ask and returns its exit code.
pub fn report(report: &Report, common: &Common) -> u8 {
    report_with(report, None, common)
}

/// [`report`], with the partial publish `verify` found (an annotation and a block of the
/// step summary in GitHub Actions).
pub fn report_with(report: &Report, partial: Option<&PartialPublish>, common: &Common) -> u8 {
    common.outputs.verdict(report.verdict);
    let mut text = Vec::new();
    let _ = match common.json {
        true => write_json(&mut text, report),
        false => write_human(&mut text, report, common.paint.out),
    };
    // A closed stdout (`| head`) is not worth a panic; the exit code still tells the verdict.
    let _ = std::io::stdout().lock().write_all(redacted(&common.env, &String::from_utf8_lossy(&text)).as_bytes());
    github(report, partial, common.json, &common.env);
    report.verdict.exit_code()
}

fn write_json(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

/// Whether each stream gets colour; decided once, from `--color` and the environment
/// (never read from the process here: `Common.env` is the snapshot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paint {
    /// Colour on stdout (the human report).
    pub out: bool,
    /// Colour on stderr (progress lines).
    pub err: bool,
}

impl Paint {
    /// The ecosystem's conventions, as cargo and clap follow them: `--color always|never`
    /// wins; under `auto`, a non-empty `NO_COLOR` turns colour off, then a non-empty
    /// `CLICOLOR_FORCE` (other than `0`) turns it on, then `TERM=dumb` turns it off, and
    /// otherwise each stream is coloured when it is a terminal.
    pub fn decide(color: &str, env: &Env, out_is_terminal: bool, err_is_terminal: bool) -> Paint {
        let all = |on: bool| Paint { out: on, err: on };
        match color {
            "always" => return all(true),
            "never" => return all(false),
            _ => {}
        }
        if env.is_set("NO_COLOR") {
            return all(false);
        }
        if env.is_set("CLICOLOR_FORCE") && env.get("CLICOLOR_FORCE") != Some("0") {
            return all(true);
        }
        if env.get("TERM") == Some("dumb") {
            return all(false);
        }
        Paint { out: out_is_terminal, err: err_is_terminal }
    }

    /// For `common`, with the real streams' terminal status.
    pub fn for_common(common: &Common) -> Paint {
        Paint::decide(&common.color, &common.env, std::io::stdout().is_terminal(), std::io::stderr().is_terminal())
    }
}

/// `word` padded to `width` and, when `on`, in the colour cargo gives its kind of status:
/// green for PASS (and a ready verdict), red for FAIL (blocked), yellow for the rest.
pub fn paint_word(word: &str, width: usize, on: bool) -> String {
    let code = match word {
        "PASS" | "ready" | "ready with waivers" => "32",
        "FAIL" | "blocked" => "31",
        _ => "33",
    };
    if on { format!("\x1b[{code}m{word:<width$}\x1b[0m") } else { format!("{word:<width$}") }
}

/// Human text: one line per finding, evidence indented under it, then the verdict.
pub fn write_human(out: &mut impl Write, report: &Report, color: bool) -> std::io::Result<()> {
    for f in &report.findings {
        let painted = paint_word(f.outcome.word(), 10, color);
        writeln!(out, "{painted} {}: {}", f.subject, f.detail)?;
        for e in &f.evidence {
            writeln!(out, "           at {e}")?;
            if let Evidence::Command { tail, .. } = e {
                for line in tail.lines() {
                    writeln!(out, "           | {line}")?;
                }
            }
        }
    }
    if let Some(serde_json::Value::Object(summary)) = &report.summary {
        writeln!(out, "summary:")?;
        for (key, value) in summary.iter().filter(|(_, v)| !v.is_null()) {
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
            writeln!(out, "  {key}: {text}")?;
        }
    }
    let line = report.verdict_line();
    // `command [target]: verdict (counts)`: only the verdict is painted.
    let verdict = report.verdict.describe();
    match (color, line.split_once(&format!(": {verdict} ("))) {
        (true, Some((head, tail))) => writeln!(out, "{head}: {} ({tail}", paint_word(verdict, 0, true)),
        _ => writeln!(out, "{line}"),
    }
}

/// `text` through the one redaction point: the environment's secrets and token shapes.
pub fn redacted(env: &Env, text: &str) -> String {
    Redactor::from_env(env).redact(text)
}

/// Where a piece of command-line text goes.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// What the command answers (report, values, notes, JSON).
    Out,
    /// Progress, notes and errors.
    Err,
}

/// The one place the command line writes text (except the report itself and `::add-mask::`,
/// above): `text` redacted by `redactor`, then a newline. A closed stream (`| head`) is
/// ignored: the exit code still tells the verdict.
pub fn write(redactor: &Redactor, stream: Stream, text: &str) {
    write_line(stream, &redactor.redact(text));
}

/// A cargo-style status line on stderr: `verb` right-aligned in 12 columns, then `text`
/// (`   Verifying crates v1.2.1`). The one place status lines are formatted, so colouring the
/// verb is one change here.
pub fn status(redactor: &Redactor, verb: &str, text: &str) {
    write(redactor, Stream::Err, &format!("{verb:>12} {text}"));
}

/// `value` as pretty JSON and a newline on stdout, every string in it redacted of the secrets
/// in `env` before serializing (masking the text after would cut through quotes); keys and
/// shape unchanged.
pub fn json(env: &Env, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(value).context("cannot serialize the output as JSON")?;
    Redactor::from_env(env).redact_value(&mut value);
    write_line(Stream::Out, &serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn write_line(stream: Stream, text: &str) {
    let mut line = text.to_string();
    line.push('\n');
    let _ = match stream {
        Stream::Out => std::io::stdout().lock().write_all(line.as_bytes()),
        Stream::Err => std::io::stderr().lock().write_all(line.as_bytes()),
    };
}

/// `text` and a newline on stdout, redacted of the secrets in `env`.
pub fn out(env: &Env, text: &str) {
    write(&Redactor::from_env(env), Stream::Out, text);
}

/// `text` and a newline on stderr, redacted of the secrets in `env`.
pub fn err(env: &Env, text: &str) {
    write(&Redactor::from_env(env), Stream::Err, text);
}

/// `body` as the `--json` output of `command`: the envelope every command's JSON starts with
/// (`schema_version`, `command`, `target`, `null` when there is none), then the body's own
/// fields (a body's own `schema_version` is kept: the evidence record has its own).
pub fn json_output(env: &Env, command: &str, target: Option<&str>, body: &impl serde::Serialize) -> anyhow::Result<()> {
    let fields = match serde_json::to_value(body).context("cannot serialize the output as JSON")? {
        serde_json::Value::Object(fields) => fields,
        other => serde_json::Map::from_iter([("value".to_string(), other)]),
    };
    let mut out = serde_json::Map::new();
    let version = fields.get("schema_version").cloned().unwrap_or(crate::report::SCHEMA_VERSION.into());
    out.insert("schema_version".into(), version);
    out.insert("command".into(), command.into());
    out.insert("target".into(), target.map_or(serde_json::Value::Null, Into::into));
    for (key, value) in fields {
        out.entry(key).or_insert(value);
    }
    json(env, &serde_json::Value::Object(out))
}

/// Why a command could not run (exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The command line is wrong: an unknown command or flag, a bad value.
    Usage,
    /// The repository, the policy or a file the command reads is wrong, or an operation was
    /// refused (the command line itself was fine).
    Config,
}

/// An error that stopped a command, as data: what `--json` prints and what an annotation
/// points at.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    /// Usage or configuration.
    pub kind: ErrorKind,
    /// The message, causes included, for people.
    pub message: String,
    /// The file it is about (relative to the repository root), when one is known.
    pub file: Option<String>,
    /// The 1-based line in `file`, when known.
    pub line: Option<usize>,
}

impl Failure {
    /// From an error a command returned; a `policy::ConfigError` anywhere in its chain
    /// gives the file and line.
    pub fn from_error(kind: ErrorKind, e: &anyhow::Error) -> Failure {
        let located = e.chain().find_map(|c| c.downcast_ref::<crate::policy::ConfigError>());
        Failure {
            kind,
            message: format!("{e:#}"),
            file: located.map(|l| l.file.to_string()),
            line: located.and_then(|l| l.line),
        }
    }
}

/// Prints an error that stopped a command: `text` (the human form, `error: ...`) on stderr;
/// with `--json` the error object on stdout (`{"error": {...}, "exit_code": 2}` in the common
/// envelope); in GitHub Actions an `::error file=,line=::` annotation. All redacted.
pub fn failure(failure: &Failure, text: &str, command: Option<&str>, json: bool, env: &Env) {
    err(env, text.trim_end());
    if json {
        let body = serde_json::json!({ "error": failure, "exit_code": super::USAGE_ERROR });
        let command = command.map_or(serde_json::Value::Null, Into::into);
        let mut object = serde_json::Map::new();
        object.insert("schema_version".into(), crate::report::SCHEMA_VERSION.into());
        object.insert("command".into(), command);
        object.insert("target".into(), serde_json::Value::Null);
        if let serde_json::Value::Object(fields) = body {
            object.extend(fields);
        }
        if let Err(e) = self::json(env, &serde_json::Value::Object(object)) {
            err(env, &format!("error: {e:#}"));
        }
    }
    if github_actions(env) {
        let mut props = Vec::new();
        if let Some(file) = &failure.file {
            props.push(format!("file={}", escape_property(file)));
            if let Some(line) = failure.line {
                props.push(format!("line={line}"));
            }
        }
        let props = if props.is_empty() { String::new() } else { format!(" {}", props.join(",")) };
        let stream = if json { Stream::Err } else { Stream::Out };
        write(&Redactor::from_env(env), stream, &format!("::error{props}::{}", escape_data(&failure.message)));
    }
}

/// In GitHub Actions, `::add-mask::` for every secret in the environment, so the runner hides
/// them too; printed once, before any other output.
pub fn add_masks(env: &Env) {
    if !github_actions(env) {
        return;
    }
    let mut out = std::io::stdout().lock();
    for secret in &env.secrets() {
        let _ = writeln!(out, "::add-mask::{}", escape_data(secret));
    }
}

/// Whether we run inside GitHub Actions (`GITHUB_ACTIONS=true`) as the outer run: inside a
/// `qa` gate (`RELEASE_CORE_NESTED`) the outer run writes the step summary, the annotations,
/// the masks and the log groups, and the gate's output is already inside its group.
pub fn github_actions(env: &Env) -> bool {
    env.get("GITHUB_ACTIONS") == Some("true") && !env.is_set(crate::env::NESTED)
}

/// Escapes a workflow-command message: `%`, `\r`, `\n`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow-command property value: as [`escape_data`], plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::error`/`::warning` lines for failed and incomplete findings, with `file=`/`line=` from
/// the first file evidence.
pub fn annotations(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for f in &report.findings {
        let level = match f.outcome {
            Outcome::Fail => "error",
            Outcome::Incomplete => "warning",
            _ => continue,
        };
        let mut props = vec![format!(
            "title={}",
            escape_property(&format!("{} {}: {}", report.command, f.check, f.outcome.word()))
        )];
        if let Some((path, line)) = f.evidence.iter().find_map(|e| match e {
            Evidence::File { path, line } => Some((path, *line)),
            _ => None,
        }) {
            props.push(format!("file={}", escape_property(path)));
            if let Some(line) = line {
                props.push(format!("line={line}"));
            }
        }
        let mut message = format!("{}: {}", f.subject, f.detail);
        if let Some(tail) = f.evidence.iter().find_map(|e| match e {
            Evidence::Command { tail, .. } if !tail.is_empty() => Some(tail),
            _ => None,
        }) {
            let last: Vec<&str> = tail.lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect();
            message = format!("{message}\n{}", last.join("\n"));
        }
        lines.push(format!("::{level} {}::{}", props.join(","), escape_data(&message)));
    }
    lines
}

/// The Markdown table appended to `$GITHUB_STEP_SUMMARY`.
pub fn step_summary(report: &Report) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace(['\r', '\n'], " ");
    let target = report.target.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
    let mut out = format!(
        "### `{}`{target}: {}\n\n| status | check | subject | detail |\n| --- | --- | --- | --- |\n",
        report.command, report.verdict
    );
    for f in &report.findings {
        out += &format!(
            "| {} | {} | {} | {} |\n",
            f.outcome.word(),
            cell(f.check.as_str()),
            cell(&f.subject),
            cell(&f.detail)
        );
    }
    out.push('\n');
    out
}

/// The `::error` annotation of a partial publish: the missing channels in the title, then the
/// live ones and the recovery.
pub fn partial_annotation(partial: &PartialPublish) -> String {
    let names = |cs: &[crate::manifest::Channel]| cs.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
    let title = format!("partial publish: missing on {}", names(&partial.missing));
    let message =
        format!("live on {}; missing on {}. {}", names(&partial.live), names(&partial.missing), partial.recovery);
    format!("::error title={}::{}", escape_property(&title), escape_data(&message))
}

/// The step summary's block for a partial publish, after the findings table.
pub fn partial_summary(partial: &PartialPublish) -> String {
    let names = |cs: &[crate::manifest::Channel]| cs.iter().map(|c| format!("`{}`", c.name())).collect::<Vec<_>>();
    format!(
        "#### Partial publish\n\n- missing on: {}\n- live on: {}\n\n{}\n\n",
        names(&partial.missing).join(", "),
        names(&partial.live).join(", "),
        partial.recovery.replace(['\r', '\n'], " ")
    )
}

/// In GitHub Actions: prints the annotations (on stdout, or stderr when stdout is JSON) and
/// appends the summary table to `$GITHUB_STEP_SUMMARY`, each with the partial publish when
/// there is one. Outside it, does nothing.
pub fn github(report: &Report, partial: Option<&PartialPublish>, json: bool, env: &Env) {
    if !github_actions(env) {
        return;
    }
    let redactor = Redactor::from_env(env);
    let stream = if json { Stream::Err } else { Stream::Out };
    for l in annotations(report).into_iter().chain(partial.map(partial_annotation)) {
        write(&redactor, stream, &l);
    }
    if let Some(path) = env.get_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let mut summary = step_summary(report);
        if let Some(p) = partial {
            summary += &partial_summary(p);
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(redacted(env, &summary).as_bytes()));
        if let Err(e) = written {
            err(env, &format!("warning: cannot append to GITHUB_STEP_SUMMARY {}: {e}", path.to_string_lossy()));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::report::Finding;

    use super::*;

    #[test]
    fn colour_follows_flag_then_no_color_then_clicolor_force_then_term_then_terminal() {
        let env = |vars: &[(&str, &str)]| vars.iter().fold(Env::empty(), |e, (k, v)| e.with(k, *v));
        let on = Paint { out: true, err: true };
        let off = Paint::default();
        assert_eq!(Paint::decide("auto", &env(&[]), true, false), Paint { out: true, err: false });
        assert_eq!(Paint::decide("auto", &env(&[("NO_COLOR", "1")]), true, true), off);
        assert_eq!(Paint::decide("auto", &env(&[("NO_COLOR", "")]), true, true), on, "empty NO_COLOR does not count");
        assert_eq!(Paint::decide("auto", &env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]), false, false), off);
        assert_eq!(Paint::decide("auto", &env(&[("CLICOLOR_FORCE", "1")]), false, false), on);
        assert_eq!(Paint::decide("auto", &env(&[("CLICOLOR_FORCE", "0")]), false, false), off);
        assert_eq!(Paint::decide("auto", &env(&[("TERM", "dumb")]), true, true), off);
        assert_eq!(Paint::decide("always", &env(&[("NO_COLOR", "1")]), false, false), on);
        assert_eq!(Paint::decide("never", &env(&[("CLICOLOR_FORCE", "1")]), true, true), off);
    }

    #[test]
    fn annotations_escape_and_locate() {
        let r = Report::new(
            "qa",
            Some("v1.0.0".into()),
            vec![
                Finding::fail("versions", "a,b", "100% wrong\r\nreally").with(Evidence::file_line("Cargo.toml", 3)),
                Finding::incomplete("audit", "audit", "no tool"),
                Finding::pass("x", "x", "ok"),
            ],
        );
        let a = annotations(&r);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0], "::error title=qa versions%3A FAIL,file=Cargo.toml,line=3::a,b: 100%25 wrong%0D%0Areally");
        assert!(a[1].starts_with("::warning title=qa audit%3A INCOMPLETE::"), "{}", a[1]);
        assert!(step_summary(&r).contains("| FAIL | versions | a,b | 100% wrong  really |"));
    }
}
