//! Output: human text (status words, colour only on a terminal and never with NO_COLOR) or
//! JSON with `schema_version`; in GitHub Actions also annotations and a step summary.

use std::io::{IsTerminal, Write};

use anyhow::Context as _;

use super::args::Common;
use crate::{
    env::Env,
    redact::Redactor,
    report::{Evidence, Outcome, Report},
};

/// Prints a report as the common options ask and returns its exit code.
pub fn report(report: &Report, common: &Common) -> u8 {
    let mut text = Vec::new();
    let _ = match common.json {
        true => write_json(&mut text, report),
        false => write_human(&mut text, report, color(&common.env)),
    };
    // A closed stdout (`| head`) is not worth a panic; the exit code still tells the verdict.
    let _ = std::io::stdout().lock().write_all(redacted(&common.env, &String::from_utf8_lossy(&text)).as_bytes());
    github(report, common.json, &common.env);
    report.verdict.exit_code()
}

fn write_json(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

fn color(env: &Env) -> bool {
    env.get_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Human text: one line per finding, evidence indented under it, then the verdict.
pub fn write_human(out: &mut impl Write, report: &Report, color: bool) -> std::io::Result<()> {
    for f in &report.findings {
        let word = f.outcome.word();
        let painted = match (color, &f.outcome) {
            (false, _) => format!("{word:<10}"),
            (true, Outcome::Pass) => format!("\x1b[32m{word:<10}\x1b[0m"),
            (true, Outcome::Fail) => format!("\x1b[31m{word:<10}\x1b[0m"),
            (true, Outcome::Incomplete) => format!("\x1b[33m{word:<10}\x1b[0m"),
            (true, _) => format!("\x1b[2m{word:<10}\x1b[0m"),
        };
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
    let counts: Vec<String> = report.counts().iter().map(|(word, n)| format!("{n} {}", past_tense(word))).collect();
    let target = report.target.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
    let counts = if counts.is_empty() { "nothing was checked".to_string() } else { counts.join(", ") };
    writeln!(out, "{}{target}: {} ({counts})", report.command, report.verdict)
}

fn past_tense(word: &str) -> &'static str {
    match word {
        "PASS" => "passed",
        "FAIL" => "failed",
        "INCOMPLETE" => "incomplete",
        "SKIP" => "skipped",
        _ => "waived",
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

/// Prints an error that stopped a command, with its causes, to stderr (redacted).
pub fn error(e: &anyhow::Error, env: &Env) {
    err(env, &format!("error: {e:#}"));
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

/// Whether we run inside GitHub Actions (`GITHUB_ACTIONS=true`).
pub fn github_actions(env: &Env) -> bool {
    env.get("GITHUB_ACTIONS") == Some("true")
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

/// In GitHub Actions: prints the annotations (on stdout, or stderr when stdout is JSON) and
/// appends the summary table to `$GITHUB_STEP_SUMMARY`. Outside it, does nothing.
pub fn github(report: &Report, json: bool, env: &Env) {
    if !github_actions(env) {
        return;
    }
    let redactor = Redactor::from_env(env);
    let stream = if json { Stream::Err } else { Stream::Out };
    for l in annotations(report) {
        write(&redactor, stream, &l);
    }
    if let Some(path) = env.get_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(redacted(env, &step_summary(report)).as_bytes()));
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
