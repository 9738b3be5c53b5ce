//! A validator for the subset of JSON Schema (draft 2020-12) that
//! docs/schema/report.schema.json uses, so the e2e tests check every `--json` output against
//! it without the `jsonschema` crate: that crate (even without default features) brought 54
//! more crates into the test build, among them a second `syn` major, `regex`, `fancy-regex`
//! and `num`, compiled on every cold build (CI builds cold) to check about twenty small
//! documents.
//!
//! Supported: boolean schemas, `$ref` to `#/$defs/<name>`, `type`, `const`, `enum`,
//! `required`, `properties`, `additionalProperties`, `items`, `minimum`, `maximum`,
//! `minLength`, `pattern` (anchors, literals, escapes, `[...]` ranges, `(a|b)` groups and
//! `* + ?`), `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`; the annotations `$schema`,
//! `$id`, `$defs`, `title`, `description`. A schema with any other keyword is refused when it
//! is loaded, so the file cannot quietly outgrow the validator.

use std::collections::BTreeSet;

use serde_json::Value;

const ANNOTATIONS: [&str; 5] = ["$schema", "$id", "$defs", "title", "description"];
const KEYWORDS: [&str; 20] = [
    "$ref",
    "type",
    "const",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minimum",
    "maximum",
    "minLength",
    "pattern",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "default",
];

/// A loaded schema.
pub struct Schema {
    root: Value,
}

impl Schema {
    /// Loads `root`, refusing keywords outside the subset and patterns it cannot read.
    pub fn new(root: Value) -> Result<Schema, String> {
        let mut problems = Vec::new();
        check_keywords(&root, "#", &mut problems);
        if let Some(defs) = root.get("$defs").and_then(Value::as_object) {
            for (name, def) in defs {
                check_keywords(def, &format!("#/$defs/{name}"), &mut problems);
            }
        }
        match problems.is_empty() {
            true => Ok(Schema { root }),
            false => Err(problems.join("\n")),
        }
    }

    /// Every way `value` breaks the schema (empty: it follows it).
    pub fn errors(&self, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(&self.root, value, "", &mut errors);
        errors
    }

    /// Whether `value` follows the schema.
    pub fn is_valid(&self, value: &Value) -> bool {
        self.errors(value).is_empty()
    }

    fn valid(&self, schema: &Value, value: &Value) -> bool {
        let mut errors = Vec::new();
        self.check(schema, value, "", &mut errors);
        errors.is_empty()
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let mut fail = |what: String| errors.push(format!("{}: {what}", if at.is_empty() { "/" } else { at }));
        let schema = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return fail("no value is allowed here".into()),
            Value::Object(schema) => schema,
            _ => return fail("the schema is not an object".into()),
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            match self.resolve(reference) {
                Some(target) => self.check(target, value, at, errors),
                None => errors.push(format!("{at}: cannot resolve {reference}")),
            }
        }
        let mut fail = |what: String| errors.push(format!("{}: {what}", if at.is_empty() { "/" } else { at }));
        if let Some(types) = schema.get("type") {
            let names: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !names.iter().any(|t| has_type(value, t)) {
                fail(format!("{value} is not of type {types}"));
            }
        }
        if let Some(constant) = schema.get("const")
            && constant != value
        {
            fail(format!("{value} is not {constant}"));
        }
        if let Some(Value::Array(options)) = schema.get("enum")
            && !options.contains(value)
        {
            fail(format!("{value} is not one of {}", Value::Array(options.clone())));
        }
        if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), value.as_f64())
            && n < min
        {
            fail(format!("{n} is below {min}"));
        }
        if let (Some(max), Some(n)) = (schema.get("maximum").and_then(Value::as_f64), value.as_f64())
            && n > max
        {
            fail(format!("{n} is above {max}"));
        }
        if let Value::String(text) = value {
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && (text.chars().count() as u64) < min
            {
                fail(format!("{value} is shorter than {min}"));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
                && !Pattern::parse(pattern).is_some_and(|p| p.is_match(text))
            {
                fail(format!("{value} does not match {pattern}"));
            }
        }
        if let Value::Object(object) = value {
            for key in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                if let Some(key) = key.as_str()
                    && !object.contains_key(key)
                {
                    fail(format!("`{key}` is required"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (key, item) in object {
                let path = format!("{at}/{key}");
                match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                    (Some(sub), _) => self.check(sub, item, &path, errors),
                    (None, Some(extra)) => {
                        if extra == &Value::Bool(false) {
                            errors.push(format!("{path}: `{key}` is not allowed"));
                        } else {
                            self.check(extra, item, &path, errors);
                        }
                    }
                    (None, None) => {}
                }
            }
        }
        if let (Value::Array(items), Some(sub)) = (value, schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.check(sub, item, &format!("{at}/{i}"), errors);
            }
        }
        let subs = |key: &str| schema.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        for sub in subs("allOf") {
            self.check(&sub, value, at, errors);
        }
        let any = subs("anyOf");
        if !any.is_empty() && !any.iter().any(|s| self.valid(s, value)) {
            errors.push(format!("{at}: matches none of anyOf"));
        }
        let one = subs("oneOf");
        if !one.is_empty() {
            let matched = one.iter().filter(|s| self.valid(s, value)).count();
            if matched != 1 {
                // Say why each branch failed, so a wrong output names its field.
                let why: Vec<String> = one
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let mut e = Vec::new();
                        self.check(s, value, at, &mut e);
                        format!("  branch {i}: {}", e.join("; "))
                    })
                    .collect();
                errors.push(format!("{at}: matches {matched} of oneOf, not exactly 1\n{}", why.join("\n")));
            }
        }
        if let Some(not) = schema.get("not")
            && self.valid(not, value)
        {
            errors.push(format!("{at}: matches what `not` excludes"));
        }
        if let Some(condition) = schema.get("if") {
            let branch = if self.valid(condition, value) { schema.get("then") } else { schema.get("else") };
            if let Some(branch) = branch {
                self.check(branch, value, at, errors);
            }
        }
    }

    fn resolve(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix("#/$defs/")?;
        self.root.get("$defs")?.get(name)
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Refuses keywords outside the subset, anywhere below `schema`.
fn check_keywords(schema: &Value, at: &str, problems: &mut Vec<String>) {
    let Value::Object(map) = schema else { return };
    for (key, sub) in map {
        let path = format!("{at}/{key}");
        if ANNOTATIONS.contains(&key.as_str()) {
            continue;
        }
        if !KEYWORDS.contains(&key.as_str()) {
            problems.push(format!("{path}: keyword `{key}` is not supported by tests/tests/e2e/schema_subset.rs"));
            continue;
        }
        match key.as_str() {
            "properties" => {
                for (name, s) in sub.as_object().into_iter().flatten() {
                    check_keywords(s, &format!("{path}/{name}"), problems);
                }
            }
            "allOf" | "anyOf" | "oneOf" => {
                for (i, s) in sub.as_array().into_iter().flatten().enumerate() {
                    check_keywords(s, &format!("{path}/{i}"), problems);
                }
            }
            "items" | "not" | "if" | "then" | "else" | "additionalProperties" => check_keywords(sub, &path, problems),
            "pattern" if sub.as_str().and_then(Pattern::parse).is_none() => {
                problems.push(format!("{path}: pattern {sub} is outside the supported subset"));
            }
            _ => {}
        }
    }
}

/// A regular expression of the subset: `^`, `$`, literals, `\x` escapes, `[a-z0-9]` classes,
/// `(a|b)` groups, each atom optionally followed by `*`, `+` or `?`. Matched as JSON Schema
/// says, anywhere in the string unless anchored.
#[derive(Debug, Clone)]
enum Node {
    Start,
    End,
    Char(char),
    Class(Vec<(char, char)>),
    Group(Vec<Sequence>),
}

/// One alternative of a group: atoms in order, each with its repetition.
type Sequence = Vec<(Node, Repeat)>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Repeat {
    Once,
    Optional,
    Star,
    Plus,
}

struct Pattern {
    alternatives: Vec<Sequence>,
}

impl Pattern {
    fn parse(text: &str) -> Option<Pattern> {
        let chars: Vec<char> = text.chars().collect();
        let (alternatives, used) = parse_alternatives(&chars, 0)?;
        (used == chars.len()).then_some(Pattern { alternatives })
    }

    fn is_match(&self, text: &str) -> bool {
        let input: Vec<char> = text.chars().collect();
        let group = Node::Group(self.alternatives.clone());
        (0..=input.len()).any(|start| !ends(&group, &input, start).is_empty())
    }
}

/// `a|b|...` up to a `)` or the end; returns the branches and where it stopped.
fn parse_alternatives(chars: &[char], mut i: usize) -> Option<(Vec<Sequence>, usize)> {
    let mut branches = vec![Vec::new()];
    while i < chars.len() && chars[i] != ')' {
        let node = match chars[i] {
            '|' => {
                branches.push(Vec::new());
                i += 1;
                continue;
            }
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => {
                i += 1;
                Node::Char(*chars.get(i)?)
            }
            '[' => {
                let mut ranges = Vec::new();
                i += 1;
                while *chars.get(i)? != ']' {
                    let from = chars[i];
                    if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|c| *c != ']') {
                        ranges.push((from, chars[i + 2]));
                        i += 3;
                    } else {
                        ranges.push((from, from));
                        i += 1;
                    }
                }
                Node::Class(ranges)
            }
            '(' => {
                let (inner, close) = parse_alternatives(chars, i + 1)?;
                if chars.get(close) != Some(&')') {
                    return None;
                }
                i = close;
                Node::Group(inner)
            }
            '.' | '{' | '}' | '*' | '+' | '?' => return None,
            c => Node::Char(c),
        };
        i += 1;
        let repeat = match chars.get(i) {
            Some('*') => Repeat::Star,
            Some('+') => Repeat::Plus,
            Some('?') => Repeat::Optional,
            _ => Repeat::Once,
        };
        if repeat != Repeat::Once {
            i += 1;
        }
        branches.last_mut()?.push((node, repeat));
    }
    Some((branches, i))
}

/// Every position one match of `node` starting at `at` can end at.
fn ends(node: &Node, input: &[char], at: usize) -> BTreeSet<usize> {
    match node {
        Node::Start => (at == 0).then_some(at).into_iter().collect(),
        Node::End => (at == input.len()).then_some(at).into_iter().collect(),
        Node::Char(c) => (input.get(at) == Some(c)).then_some(at + 1).into_iter().collect(),
        Node::Class(ranges) => input
            .get(at)
            .filter(|c| ranges.iter().any(|(a, b)| (a..=b).contains(c)))
            .map(|_| at + 1)
            .into_iter()
            .collect(),
        Node::Group(branches) => branches.iter().flat_map(|seq| seq_ends(seq, input, at)).collect(),
    }
}

fn seq_ends(seq: &Sequence, input: &[char], at: usize) -> BTreeSet<usize> {
    let mut positions = BTreeSet::from([at]);
    for (node, repeat) in seq {
        let once = |ps: &BTreeSet<usize>| ps.iter().flat_map(|&p| ends(node, input, p)).collect::<BTreeSet<_>>();
        positions = match repeat {
            Repeat::Once => once(&positions),
            Repeat::Optional => once(&positions).union(&positions).copied().collect(),
            Repeat::Star | Repeat::Plus => {
                let mut reached = if *repeat == Repeat::Star { positions.clone() } else { BTreeSet::new() };
                let mut frontier = once(&positions);
                while !frontier.is_subset(&reached) {
                    reached.extend(frontier.iter().copied());
                    frontier = once(&frontier);
                }
                reached
            }
        };
    }
    positions
}

#[test]
fn the_subset_validates_like_json_schema() {
    let schema = Schema::new(serde_json::json!({
        "$defs": { "v": { "type": "string", "pattern": "^v(0|[1-9][0-9]*)\\.[0-9]+(-rc\\.[0-9]+)?$" } },
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": { "$ref": "#/$defs/v" },
            "b": { "oneOf": [{ "type": "null" }, { "type": "integer", "minimum": 1 }] },
            "c": { "type": "array", "items": { "enum": ["x", "y"] } }
        },
        "additionalProperties": false,
        "if": { "required": ["b"], "properties": { "b": { "const": 7 } } },
        "then": { "required": ["c"] }
    }))
    .unwrap();
    let ok = |v: serde_json::Value| schema.is_valid(&v);
    assert!(ok(serde_json::json!({"a": "v1.2"})));
    assert!(ok(serde_json::json!({"a": "v10.2-rc.3", "b": null, "c": ["x"]})));
    assert!(!ok(serde_json::json!({"a": "v01.2"})), "leading zero");
    assert!(!ok(serde_json::json!({"a": "v1.2x"})), "anchored at the end");
    assert!(!ok(serde_json::json!({})), "required");
    assert!(!ok(serde_json::json!({"a": "v1.2", "z": 1})), "additionalProperties");
    assert!(!ok(serde_json::json!({"a": "v1.2", "b": 0})), "minimum inside oneOf");
    assert!(!ok(serde_json::json!({"a": "v1.2", "c": ["z"]})), "enum in items");
    assert!(!ok(serde_json::json!({"a": "v1.2", "b": 7})), "if/then");
    assert!(Schema::new(serde_json::json!({"format": "date-time"})).is_err(), "unsupported keyword");
    assert!(Schema::new(serde_json::json!({"pattern": "a{2}"})).is_err(), "unsupported pattern");
}
