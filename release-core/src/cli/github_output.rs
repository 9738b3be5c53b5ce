//! `$GITHUB_OUTPUT`: what a workflow step reads back as `steps.<id>.outputs.<name>`.
//!
//! Every command notes what it rendered (its verdict, the evidence record it wrote to, the
//! channels `verify` found live and missing) in [`StepOutputs`]; [`write`] appends them once,
//! after the exit code is known, so a usage error is an output too and a command that renders
//! several reports (a driver) still writes one block. Values pass the one redaction point.

use std::{
    cell::RefCell,
    hash::{BuildHasher, RandomState},
    io::Write as _,
};

use crate::{env::Env, manifest::Channel, redact::Redactor, report::Verdict};

/// What a run leaves for `$GITHUB_OUTPUT`, noted while the command renders its outcome.
///
/// A `RefCell` because every command function gets the common options by shared reference;
/// the value lives for one run on one thread.
#[derive(Debug, Default, Clone)]
pub struct StepOutputs {
    noted: RefCell<Noted>,
}

#[derive(Debug, Default, Clone)]
struct Noted {
    verdict: Option<Verdict>,
    evidence: Option<String>,
    channels: Option<(Vec<Channel>, Vec<Channel>)>,
}

impl StepOutputs {
    /// The verdict of the report the command rendered (the last one, for a driver).
    pub fn verdict(&self, verdict: Verdict) {
        self.noted.borrow_mut().verdict = Some(verdict);
    }

    /// The evidence record the command's report went into, from the repository root.
    pub fn evidence(&self, path: &str) {
        self.noted.borrow_mut().evidence = Some(path.to_string());
    }

    /// The channels `verify` found the target live on and missing from.
    pub fn channels(&self, live: &[Channel], missing: &[Channel]) {
        self.noted.borrow_mut().channels = Some((live.to_vec(), missing.to_vec()));
    }

    /// The outputs of a run that ends with exit code `code`, in the order they are written.
    pub fn pairs(&self, code: u8) -> Vec<(&'static str, String)> {
        let noted = self.noted.borrow();
        let verdict = match (code, noted.verdict) {
            (crate::cli::USAGE_ERROR, _) => "error",
            (_, Some(v)) => verdict_word(v),
            // A command without a report (`status`, `evidence`, a listing): the exit code's meaning.
            (0, None) => "ok",
            (1, None) => "blocked",
            (3, None) => "incomplete",
            (_, None) => "error",
        };
        let mut pairs = vec![
            ("verdict", verdict.to_string()),
            ("exit_code", code.to_string()),
            ("evidence", noted.evidence.clone().unwrap_or_default()),
        ];
        if let Some((live, missing)) = &noted.channels {
            let names = |cs: &[Channel]| cs.iter().map(|c| c.name()).collect::<Vec<_>>().join(",");
            pairs.push(("live_channels", names(live)));
            pairs.push(("missing_channels", names(missing)));
        }
        pairs
    }
}

/// A verdict as workflows compare it: the JSON report's word (`ready_with_waivers`, not the
/// human "ready with waivers").
pub fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ready => "ready",
        Verdict::ReadyWithWaivers => "ready_with_waivers",
        Verdict::Blocked => "blocked",
        Verdict::Incomplete => "incomplete",
    }
}

/// When `GITHUB_OUTPUT` names a file, appends the run's outputs to it in one write (a step's
/// outputs never interleave with another writer's). A file that cannot be written is a
/// warning on stderr: the exit code still tells the verdict.
pub fn write(env: &Env, outputs: &StepOutputs, code: u8) {
    let Some(path) = env.get_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else { return };
    let redactor = Redactor::from_env(env);
    let random = RandomState::new();
    let mut draws = 0u64;
    let text = render(&outputs.pairs(code), &redactor, &mut || {
        draws += 1;
        random.hash_one(draws)
    });
    let written =
        std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        let warning = format!("warning: cannot append to GITHUB_OUTPUT {}: {e}", path.to_string_lossy());
        super::render::err(env, &warning);
    }
}

/// The lines GitHub reads: `name=value`, or for a value with a line break the heredoc form
/// `name<<DELIM`, the value, `DELIM`, with a delimiter drawn from `random` until it does not
/// occur in the value (a value could otherwise end the block early and set other outputs).
fn render(pairs: &[(&str, String)], redactor: &Redactor, random: &mut dyn FnMut() -> u64) -> String {
    let mut text = String::new();
    for (name, value) in pairs {
        let value = redactor.redact(value);
        if value.contains(['\n', '\r']) {
            let delimiter = loop {
                let candidate = format!("ghadelimiter_{:016x}", random());
                if !value.contains(&candidate) {
                    break candidate;
                }
            };
            text += &format!("{name}<<{delimiter}\n{value}\n{delimiter}\n");
        } else {
            text += &format!("{name}={value}\n");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_values_are_plain_and_multi_line_ones_a_heredoc_whose_delimiter_is_not_in_them() {
        let taken = format!("ghadelimiter_{:016x}", 1);
        let pairs = [("verdict", "ready".to_string()), ("evidence", format!("a\n{taken}\nb"))];
        let mut draws = [2u64, 1].into_iter().rev();
        let text = render(&pairs, &Redactor::default(), &mut || draws.next().unwrap_or(3));
        let fresh = format!("ghadelimiter_{:016x}", 2);
        assert_eq!(text, format!("verdict=ready\nevidence<<{fresh}\na\n{taken}\nb\n{fresh}\n"));
    }

    #[test]
    fn values_are_redacted_and_an_error_is_an_error_whatever_was_noted() {
        let outputs = StepOutputs::default();
        outputs.verdict(Verdict::Ready);
        outputs.evidence("dir/s3cr3t-value-xyz/evidence.json");
        let redactor = Redactor::new(&["s3cr3t-value-xyz".to_string()]);
        let text = render(&outputs.pairs(2), &redactor, &mut || 0);
        assert_eq!(text, "verdict=error\nexit_code=2\nevidence=dir/[REDACTED]/evidence.json\n");
        assert_eq!(outputs.pairs(0)[0].1, "ready");
        assert_eq!(StepOutputs::default().pairs(0)[0].1, "ok");
    }
}
