//! QA gates: the catalogue (built-in checks and the policy's `[[gate]]` commands), conditional
//! triggers, waivers, and the runner that times every gate and keeps the tail of what failed.
//!
//! The runner runs every gate by default, so the report is complete; `fail_fast` stops at the
//! first blocking gate and reports the rest as skipped, with that reason. Gate output reaches
//! the caller line by line through an [`Observer`] (xtask prints it under a header); the
//! library itself prints nothing.

pub mod builtin;
mod changes;
pub mod command;
pub mod tree;

use std::time::Duration;

use anyhow::bail;

use crate::{
    context::Context, duration, policy::GatePolicy, report::CheckId, report::Evidence, report::Finding,
    report::Outcome, report::Report, target::ReleaseTarget,
};

/// One gate of the catalogue.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Stable id, used by `--only` and `--waive`, and as the `check` of its findings.
    pub id: String,
    /// One line saying what it proves.
    pub description: String,
    /// Whether `--waive` may skip it (built-ins that decide what the release is never are;
    /// a policy gate unless it says `waivable = false`).
    pub waivable: bool,
    /// What runs.
    pub kind: Kind,
}

impl Gate {
    /// The id its findings carry: a built-in's constant, or the policy gate's own id.
    pub fn check(&self) -> CheckId {
        match &self.kind {
            Kind::Builtin(b) => b.id(),
            Kind::Command(_) => CheckId::owned(self.id.as_str()),
        }
    }
}

/// Built-in check or policy command.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A check implemented in this crate.
    Builtin(builtin::Builtin),
    /// A `[[gate]]` of the policy.
    Command(GatePolicy),
}

/// Every gate for `policy`, built-ins first, then the policy's commands in policy order.
/// A policy gate may not reuse a built-in id.
pub fn catalogue(cx: &Context) -> anyhow::Result<Vec<Gate>> {
    let mut gates: Vec<Gate> = builtin::Builtin::ALL
        .iter()
        .map(|b| Gate {
            id: b.id().to_string(),
            description: b.description().to_string(),
            waivable: b.waivable(),
            kind: Kind::Builtin(*b),
        })
        .collect();
    for g in &cx.policy.gates {
        if gates.iter().any(|b| b.id == g.id) {
            bail!(
                "{}:{}: gate id `{}` is the id of a built-in gate; choose another",
                cx.policy.path,
                g.policy_line,
                g.id
            );
        }
        let description = g.description.clone().unwrap_or_else(|| format!("runs `{}`", g.run.join(" ")));
        gates.push(Gate { id: g.id.clone(), description, waivable: g.waivable, kind: Kind::Command(g.clone()) });
    }
    Ok(gates)
}

/// An operator's decision not to run a gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// The gate id.
    pub id: String,
    /// Why (required, non-empty).
    pub reason: String,
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The release target the gates check against.
    pub target: ReleaseTarget,
    /// The base tag for `when_changed` (none: conditional gates run, failing closed).
    pub base_tag: Option<String>,
    /// Run only these gate ids (empty: all).
    pub only: Vec<String>,
    /// Gates not to run.
    pub waivers: Vec<Waiver>,
    /// Stop at the first blocking gate.
    pub fail_fast: bool,
    /// How often a running command gate reports progress (zero: never).
    pub tick: Duration,
    /// What masks secrets in gate output (the environment's token values, token shapes).
    pub redactor: crate::redact::Redactor,
    /// Open blockers of the release, from the evidence record (titles).
    pub open_blockers: Vec<String>,
}

impl Plan {
    /// A plan that runs every gate for `target`, no base tag, progress every 30 s.
    pub fn new(target: ReleaseTarget) -> Plan {
        Plan {
            target,
            base_tag: None,
            only: Vec::new(),
            waivers: Vec::new(),
            fail_fast: false,
            tick: Duration::from_secs(30),
            redactor: crate::redact::Redactor::default(),
            open_blockers: Vec::new(),
        }
    }
}

/// Receives a command's progress (the library prints nothing itself); every method defaults
/// to doing nothing.
pub trait Observer {
    /// A status line for the operator (what is starting, what it will take).
    fn note(&mut self, _text: &str) {}
    /// A gate starts: it is number `index` (1-based) of `total` gates that will run.
    fn started(&mut self, _index: usize, _total: usize, _gate: &Gate) {}
    /// One line of a command gate's output.
    fn line(&mut self, _gate: &Gate, _line: &str) {}
    /// A command gate is still running after `elapsed`.
    fn tick(&mut self, _gate: &Gate, _elapsed: Duration) {}
    /// A gate ended with these findings.
    fn finished(&mut self, _gate: &Gate, _findings: &[Finding], _elapsed: Duration) {}
    /// A wait for something outside (a workflow run) goes on: which, its state, the time
    /// elapsed. Progress, not a note: shown even when the report is JSON.
    fn waiting(&mut self, text: &str) {
        self.note(text);
    }

    /// Progress of long work: a step starting, a `verify --wait` round, an HTTP request or
    /// retry (see [`Progress`](crate::progress::Progress)).
    fn progress(&mut self, _event: &crate::progress::Progress) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Checks `--only` and `--waive` against the catalogue: unknown ids, empty reasons and a gate
/// both selected and waived are usage errors that list the known ids.
pub fn check_selection(gates: &[Gate], plan: &Plan) -> anyhow::Result<()> {
    let ids = || gates.iter().map(|g| g.id.as_str()).collect::<Vec<_>>().join(", ");
    for id in plan.only.iter().chain(plan.waivers.iter().map(|w| &w.id)) {
        if !gates.iter().any(|g| &g.id == id) {
            bail!("unknown gate `{id}`; the gates are: {}", ids());
        }
    }
    for w in &plan.waivers {
        if let Some(g) = gates.iter().find(|g| g.id == w.id && !g.waivable) {
            let why = match g.kind {
                Kind::Builtin(_) => "it decides what the release is (docs/gates.md)",
                Kind::Command(_) => "the policy says `waivable = false`",
            };
            bail!("gate `{}` can never be waived: {why}; fix what it reports and re-run", g.id);
        }
        if w.reason.trim().is_empty() {
            bail!("waiving `{}` needs a reason: --waive {} --reason \"why\"", w.id, w.id);
        }
    }
    Ok(())
}

/// Runs the gates of `plan` and returns the `qa` report.
pub fn run(cx: &Context, plan: &Plan, observer: &mut dyn Observer) -> anyhow::Result<Report> {
    let gates = catalogue(cx)?;
    check_selection(&gates, plan)?;
    let selected = |g: &Gate| plan.only.is_empty() || plan.only.contains(&g.id);
    let waiver = |g: &Gate| plan.waivers.iter().find(|w| w.id == g.id);
    let total = gates.iter().filter(|g| selected(g) && waiver(g).is_none()).count();
    let mut changed = builtin::Changes::new(plan.base_tag.clone(), &plan.target, &cx.policy.surfaces);
    let mut findings = Vec::new();
    let mut stopped_at: Option<String> = None;
    let mut index = 0;
    for gate in &gates {
        if !selected(gate) {
            let reason = format!("not selected: --only {}", plan.only.join(" --only "));
            findings.push(Finding::skipped(gate.check(), &gate.id, reason));
            continue;
        }
        if let Some(w) = waiver(gate) {
            findings.push(
                Finding::new(
                    gate.check(),
                    &gate.id,
                    Outcome::Waived { reason: w.reason.clone() },
                    format!("waived: {}", w.reason),
                )
                .with(Evidence::note(format!("not run: waived with --waive {} --reason {:?}", gate.id, w.reason))),
            );
            continue;
        }
        if let Some(at) = &stopped_at {
            findings.push(Finding::skipped(gate.check(), &gate.id, format!("not run: --fail-fast stopped at {at}")));
            continue;
        }
        index += 1;
        observer.started(index, total, gate);
        let start = cx.clock.instant();
        let found = match &gate.kind {
            Kind::Builtin(b) => b.check(cx, plan),
            Kind::Command(policy) => vec![run_command(cx, plan, gate, policy, &mut changed, observer)],
        };
        let elapsed = cx.clock.elapsed(start);
        observer.finished(gate, &found, elapsed);
        if plan.fail_fast && found.iter().any(|f| f.outcome.blocks()) {
            stopped_at = Some(gate.id.clone());
        }
        findings.extend(found);
    }
    Ok(Report::new("qa", Some(plan.target.tag()), findings))
}

/// The placeholders a command gate's `run` may use, filled in from the plan: `{tag}`
/// (`v1.2.3`), `{version}` (`1.2.3`) and `{base_tag}`. Any other text, braces included, is
/// passed as written. A gate that names `{base_tag}` when no base tag is known cannot run
/// (the error says so): it would compare against nothing.
pub fn expand(run: &[String], plan: &Plan) -> Result<Vec<String>, String> {
    run.iter()
        .map(|arg| {
            let mut arg = arg.replace("{tag}", &plan.target.tag()).replace("{version}", &plan.target.version());
            if arg.contains("{base_tag}") {
                let Some(base) = &plan.base_tag else {
                    return Err(format!(
                        "the gate needs {{base_tag}}, and no base tag is known: pass --base-tag or set it in the evidence \
                         record; if the clone lacks its tags, {}",
                        changes::FETCH_TAGS
                    ));
                };
                arg = arg.replace("{base_tag}", base);
            }
            Ok(arg)
        })
        .collect()
}

fn install_hint(tool: &str) -> String {
    let how = match tool {
        "just" => "cargo install just",
        "cargo-audit" => "cargo install cargo-audit --locked",
        "cargo" | "rustc" | "rustup" => "install Rust with rustup (https://rustup.rs)",
        "uv" => "see https://docs.astral.sh/uv/getting-started/installation/",
        "node" | "npm" => "install Node.js 24 or later (https://nodejs.org)",
        "go" => "install Go (https://go.dev/dl/)",
        "python3" => "install Python 3 (with uv: uv python install)",
        "gh" => "install the GitHub CLI (https://cli.github.com)",
        "jq" => "install jq with your package manager",
        _ => return format!("install `{tool}` and put it on PATH"),
    };
    format!("install it: {how}")
}

/// Runs one `[[gate]]`: trigger, required tools, the command, then a check that the work
/// tree did not change (a gate that rewrites files must not pass silently, bug 39).
fn run_command(
    cx: &Context,
    plan: &Plan,
    gate: &Gate,
    policy: &GatePolicy,
    changes: &mut builtin::Changes,
    observer: &mut dyn Observer,
) -> Finding {
    let id = gate.id.as_str();
    let check = gate.check();
    let mut notes = Vec::new();
    // Said in the detail too: a conditional gate that runs only because nothing could tell
    // whether it was needed must not look like one that was needed.
    let mut fail_closed: Option<String> = None;
    if !policy.when_changed.is_empty() {
        match changes.triggered(&cx.repo, &policy.when_changed) {
            builtin::Trigger::Matched(path) => notes.push(format!("runs: {path} changed since {}", changes.base())),
            builtin::Trigger::NoMatch => {
                let globs: Vec<&str> = policy.when_changed.iter().map(|g| g.as_str()).collect();
                let reason = format!("no change under {} since {}", globs.join(", "), changes.base());
                return Finding::skipped(check, id, reason);
            }
            builtin::Trigger::Unknown(why) => {
                notes.push(format!("runs (fail closed): {why}"));
                fail_closed = Some(why);
            }
            builtin::Trigger::NoHistory(why) => {
                let globs: Vec<&str> = policy.when_changed.iter().map(|g| g.as_str()).collect();
                let detail = format!("not run: whether {} changed cannot be told: {why}", globs.join(", "));
                return Finding::incomplete(check, id, detail);
            }
        }
    }
    let argv = match expand(&policy.run, plan) {
        Ok(argv) => argv,
        Err(why) => {
            return Finding::incomplete(check, id, why).with(Evidence::Command {
                argv: policy.run.clone(),
                exit_code: None,
                tail: String::new(),
            });
        }
    };
    for tool in &policy.requires {
        if command::find_program(tool, cx.repo.root(), cx.env.path()).is_none() {
            return Finding::incomplete(
                check,
                id,
                format!("needs `{tool}`, which is not on PATH: {}", install_hint(tool)),
            )
            .with(Evidence::Command { argv: argv.clone(), exit_code: None, tail: String::new() });
        }
    }
    let timeout = policy.timeout;
    let before = changes.snapshot.take().unwrap_or_else(|| tree::snapshot(&cx.repo, &cx.clock));
    let spec = command::Spec {
        argv: &argv,
        dir: cx.repo.root(),
        timeout,
        tick: plan.tick,
        redactor: &plan.redactor,
        path: cx.env.path(),
    };
    let mut toolchain: Option<String> = None;
    let run = command::run(&spec, &mut |event| match event {
        command::Event::Line(line) => {
            if toolchain.is_none() {
                toolchain = missing_toolchain(line);
            }
            observer.line(gate, line)
        }
        command::Event::Tick(elapsed) => observer.tick(gate, elapsed),
    });
    let took = duration::format(run.elapsed);
    let exit_code = match run.end {
        command::End::Exited(code) => code,
        _ => None,
    };
    let tail = run.tail.join("\n");
    let (outcome, detail) = match (&run.end, &toolchain) {
        // Not the code's fault: the machine lacks the toolchain the repository pins.
        (command::End::Exited(Some(code)), Some(name)) if *code != 0 => (
            Outcome::Incomplete,
            format!(
                "exit {code}: the Rust toolchain `{name}` pinned by {} is not installed: rustup toolchain install {name}",
                toolchain_file(cx)
            ),
        ),
        _ => ended(&run.end, &took),
    };
    let (changed, after) = tree::changes(&cx.repo, &cx.clock, &before);
    changes.snapshot = Some(after);
    let (outcome, detail) = match (outcome, changed) {
        (Outcome::Pass, tree::Change::Changed(changed)) => (
            Outcome::Fail,
            format!("exit 0, but the gate changed the work tree: {changed}; a gate must check, not fix"),
        ),
        (o, tree::Change::Changed(changed)) => {
            notes.push(format!("the gate also changed the work tree: {changed}"));
            (o, detail)
        }
        (Outcome::Pass, tree::Change::Unknown(why)) => {
            (Outcome::Incomplete, format!("exit 0, but whether the gate changed the work tree cannot be told: {why}"))
        }
        (o, tree::Change::Unknown(why)) => {
            notes.push(format!("whether the gate changed the work tree cannot be told: {why}"));
            (o, detail)
        }
        (o, tree::Change::None) => (o, detail),
    };
    let detail = match fail_closed {
        Some(why) => format!("{detail}; it ran because {why}"),
        None => detail,
    };
    let keep_tail = !matches!(outcome, Outcome::Pass);
    let mut finding = Finding::new(check, id, outcome, detail).with(Evidence::Command {
        argv,
        exit_code,
        tail: if keep_tail { tail } else { String::new() },
    });
    finding = finding.with(Evidence::note(format!("took {took}")));
    for n in notes {
        finding = finding.with(Evidence::note(n));
    }
    if policy.policy_line > 0 {
        finding = finding
            .with(Evidence::file_line(builtin::relative(&cx.repo, &cx.policy.path).as_str(), policy.policy_line));
    }
    finding
}

/// The outcome and detail of how a command gate ended.
fn ended(end: &command::End, took: &str) -> (Outcome, String) {
    match end {
        command::End::Exited(Some(0)) => (Outcome::Pass, format!("exit 0 in {took}")),
        command::End::Exited(Some(code)) => (Outcome::Fail, format!("exit {code} after {took}")),
        command::End::Exited(None) => (Outcome::Fail, format!("killed by a signal after {took}")),
        command::End::TimedOut(limit) => {
            (Outcome::Fail, format!("timed out after {} (timeout in the policy); killed", duration::format(*limit)))
        }
        command::End::NotFound(program) => {
            (Outcome::Incomplete, format!("`{program}` not found (PATH or repository): {}", install_hint(program)))
        }
        command::End::SpawnFailed(why) => (Outcome::Incomplete, why.clone()),
    }
}

/// The toolchain named by rustup's "not installed" error in a line of output:
/// `error: toolchain '1.88.0-x86_64-unknown-linux-gnu' is not installed` (and the older
/// `error: 'rustc' is not installed for the toolchain '...'`).
pub fn missing_toolchain(line: &str) -> Option<String> {
    if !line.contains("is not installed") {
        return None;
    }
    let at = line.find("toolchain '")? + "toolchain '".len();
    let name = &line[at..];
    let name = &name[..name.find('\'')?];
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    plain.then(|| name.to_string())
}

/// The file that pins the toolchain, for the message.
fn toolchain_file(cx: &Context) -> &'static str {
    match cx.repo.path("rust-toolchain").is_file() {
        true => "rust-toolchain",
        false => "rust-toolchain.toml",
    }
}
