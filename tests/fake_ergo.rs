//! `fake-ergo`: the current ergo CLI contract, for tests. State lives in the JSON file named
//! by `FAKE_ERGO_STATE`; `FAKE_ERGO_VERSION` sets the reported version (default 6.0.0).
//! Forms removed from ergo (a global `--json` before the subcommand, `list --epics`, JSON
//! objects as input) fail as they do in real ergo. Every call is appended to
//! `$FAKE_ERGO_STATE.log` so tests can see what was run. With `FAKE_ERGO_FAIL_NEW=VAR`,
//! creating a task fails and stderr echoes the value of `$VAR`, whole and folded over two
//! lines, as a tool that logs its credentials would.

use std::{io::Read, process::ExitCode};

use serde_json::{Value, json};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let state_path = std::env::var("FAKE_ERGO_STATE").unwrap_or_else(|_| "fake-ergo.json".into());
    let log = format!("{state_path}.log");
    let mut line = args.join(" ");
    line.push('\n');
    let previous = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::write(&log, previous + &line);

    let mut state: Value = std::fs::read_to_string(&state_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| json!({ "next": 1, "items": [] }));
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let fail = |msg: &str| {
        eprintln!("ergo: {msg}");
        ExitCode::from(1)
    };
    match words.as_slice() {
        ["--version"] => {
            println!("ergo version {}", std::env::var("FAKE_ERGO_VERSION").unwrap_or_else(|_| "6.0.0".into()));
            ExitCode::SUCCESS
        }
        ["--json", ..] => fail("unknown flag: --json (removed in ergo 3; use `list --json`)"),
        ["list", rest @ ..] => {
            if rest.contains(&"--epics") {
                return fail("unknown flag: --epics");
            }
            if !rest.contains(&"--json") {
                return fail("this fake only prints JSON");
            }
            let all = rest.contains(&"--all");
            let items: Vec<Value> = state["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|i| all || !matches!(i["state"].as_str(), Some("done" | "canceled")))
                .collect();
            println!("{}", json!({ "version": 1, "items": items }));
            ExitCode::SUCCESS
        }
        ["new", "task", title, rest @ ..] => {
            if let Ok(var) = std::env::var("FAKE_ERGO_FAIL_NEW") {
                let value = std::env::var(var).unwrap_or_default();
                let (head, tail) = value.split_at(value.len() / 2);
                eprintln!("ergo: sync failed: bad credentials {value}\nergo: token was {head}\n    {tail}");
                return ExitCode::from(1);
            }
            if title.trim_start().starts_with('{') {
                return fail("JSON creation input was removed in ergo 4; pass the title as an argument");
            }
            let mut body = String::new();
            let _ = std::io::stdin().read_to_string(&mut body);
            let epic = match rest {
                [] => None,
                ["--epic", id] => Some(id.to_string()),
                _ => return fail("unexpected arguments"),
            };
            let n = state["next"].as_u64().unwrap_or(1);
            let id = format!("T{n:05}");
            let items = state["items"].as_array_mut().expect("items is an array");
            if let Some(epic) = &epic {
                // `--epic` on a clean root task promotes it into an epic.
                match items.iter_mut().find(|i| i["id"] == *epic) {
                    Some(parent) => parent["kind"] = "epic".into(),
                    None => return fail(&format!("no such epic: {epic}")),
                }
            }
            items.push(json!({ "id": id, "title": title, "kind": "task", "state": "todo", "ready": true,
                               "epic_id": epic.unwrap_or_default(), "body": body }));
            state["next"] = (n + 1).into();
            std::fs::write(&state_path, serde_json::to_string_pretty(&state).expect("serialises"))
                .expect("state is writable");
            println!("{id}");
            ExitCode::SUCCESS
        }
        _ => fail(&format!("unknown command: {}", args.join(" "))),
    }
}
