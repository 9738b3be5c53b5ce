//! Output: human text (status words, colour only on a terminal and never with NO_COLOR) or
//! JSON with `schema_version`.

use std::io::{IsTerminal, Write};

use release_core::{Outcome, Report};

/// Exit code for usage and configuration errors.
pub const USAGE_ERROR: u8 = 2;

/// Prints a report and returns its exit code.
pub fn report(report: &Report, json: bool) -> u8 {
    let mut out = std::io::stdout().lock();
    // A closed stdout (`| head`) is not worth a panic; the exit code still tells the verdict.
    let _ = if json { write_json(&mut out, report) } else { write_human(&mut out, report, color()) };
    report.verdict.exit_code()
}

fn write_json(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
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
            if let release_core::Evidence::Command { tail, .. } = e {
                for line in tail.lines() {
                    writeln!(out, "           | {line}")?;
                }
            }
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

/// Prints an error that stopped a command, with its causes, to stderr.
pub fn error(e: &anyhow::Error) {
    eprintln!("error: {e:#}");
}
