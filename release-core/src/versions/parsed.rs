//! One version file, parsed once for all the surfaces it holds: the TOML document, the JSON
//! objects on the way to each field, and where its lines start are each worked out on first
//! need and kept, so reading N surfaces of one file costs one parse plus N lookups.

use std::{
    cell::{OnceCell, RefCell},
    collections::{BTreeMap, HashMap},
    ops::Range,
};

use camino::Utf8Path;
use serde_json::value::RawValue;

use super::{Found, Reading};
use crate::policy::{FieldPath, SurfaceKind, line_col};

type Located = Result<Range<usize>, String>;

/// A JSON object's members: key to the byte range of its value in the file.
type Members = BTreeMap<String, Range<usize>>;

/// The text of one surface file and what has been parsed of it.
pub(crate) struct SurfaceFile {
    text: String,
    /// The TOML document, or the syntax error (file, line, column) said once.
    toml: OnceCell<Result<toml_edit::Document<String>, String>>,
    /// The JSON document's root range, or its syntax error.
    json_root: OnceCell<Result<Range<usize>, String>>,
    /// JSON objects already read, by the start of their range (`None`: not an object).
    json_objects: RefCell<HashMap<usize, Option<Members>>>,
    /// Byte offsets of every `\n`, for line numbers.
    newlines: OnceCell<Vec<usize>>,
}

impl SurfaceFile {
    /// The file's text, nothing parsed yet.
    pub(crate) fn new(text: String) -> SurfaceFile {
        SurfaceFile {
            text,
            toml: OnceCell::new(),
            json_root: OnceCell::new(),
            json_objects: RefCell::new(HashMap::new()),
            newlines: OnceCell::new(),
        }
    }

    /// Reads the surface of `kind`; `file` is used in messages.
    pub(crate) fn read(&self, file: &Utf8Path, kind: &SurfaceKind) -> anyhow::Result<Reading> {
        let span = match kind {
            SurfaceKind::Toml(path) => self.toml_span(file, path)?,
            SurfaceKind::Json(path) => self.json_span(file, path)?,
            SurfaceKind::CargoLock { package } => self.lock_span(file, package)?,
        };
        let text = &self.text;
        Ok(match span {
            Ok(span) => {
                Reading::Found(Found { value: text[span.clone()].to_string(), line: self.line(span.start), span })
            }
            Err(why) => Reading::Missing(why),
        })
    }

    /// The 1-based line of byte `offset` (as [`line_col`] counts it).
    fn line(&self, offset: usize) -> usize {
        let newlines = self.newlines.get_or_init(|| self.text.match_indices('\n').map(|(i, _)| i).collect());
        newlines.partition_point(|&nl| nl < offset) + 1
    }

    fn toml(&self, file: &Utf8Path) -> anyhow::Result<&toml_edit::Document<String>> {
        let parsed = self.toml.get_or_init(|| {
            toml_edit::Document::parse(self.text.clone()).map_err(|e| {
                let at = e.span().map(|s| line_col(&self.text, s.start));
                let (line, col) = at.unwrap_or((1, 1));
                format!("{file}:{line}:{col}: invalid TOML: {}", e.message().trim_end())
            })
        });
        parsed.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn toml_span(&self, file: &Utf8Path, path: &FieldPath) -> anyhow::Result<Located> {
        let doc = self.toml(file)?;
        let mut item = doc.as_item();
        for (depth, key) in path.segments().iter().enumerate() {
            let next = item.as_table_like().and_then(|t| t.get(key));
            match next {
                Some(next) => item = next,
                None => {
                    let at = FieldPath::from_segments(&path.segments()[..=depth]);
                    return Ok(Err(format!("has no `{at}`")));
                }
            }
        }
        match (item.as_str(), item.span()) {
            (Some(_), Some(span)) => Ok(inner(span, &self.text)),
            _ => {
                Ok(Err(format!("`{path}` is not a string (an inherited `version.workspace = true` is not a surface)")))
            }
        }
    }

    fn lock_span(&self, file: &Utf8Path, package: &str) -> anyhow::Result<Located> {
        let doc = self.toml(file)?;
        let Some(entries) = doc.get("package").and_then(|p| p.as_array_of_tables()) else {
            return Ok(Err("has no [[package]] entries".to_string()));
        };
        // The workspace's own package is the entry with that name and no `source`.
        let local: Vec<_> = entries
            .iter()
            .filter(|t| t.get("name").and_then(|n| n.as_str()) == Some(package) && !t.contains_key("source"))
            .collect();
        let entry = match local.as_slice() {
            [entry] => entry,
            [] => return Ok(Err(format!("has no [[package]] entry for local package `{package}`"))),
            _ => return Ok(Err(format!("has {} local [[package]] entries named `{package}`", local.len()))),
        };
        match entry.get("version") {
            Some(v) if v.as_str().is_some() => {
                Ok(v.span().map_or_else(|| Err("has no span".into()), |s| inner(s, &self.text)))
            }
            _ => Ok(Err(format!("[[package]] `{package}` has no string version"))),
        }
    }

    fn json_span(&self, file: &Utf8Path, path: &FieldPath) -> anyhow::Result<Located> {
        let text = &self.text;
        let root = self.json_root.get_or_init(|| {
            serde_json::from_str::<&RawValue>(text)
                .map(|raw| range_in(text, raw))
                .map_err(|e| format!("{file}:{}:{}: invalid JSON: {e}", e.line(), e.column()))
        });
        let mut at = root.clone().map_err(|e| anyhow::anyhow!("{e}"))?;
        for (depth, key) in path.segments().iter().enumerate() {
            match self.member(&at, key) {
                Some(next) => at = next,
                None => {
                    let prefix = FieldPath::from_segments(&path.segments()[..=depth]);
                    return Ok(Err(format!("has no `{prefix}`")));
                }
            }
        }
        let raw = &text[at.clone()];
        if serde_json::from_str::<String>(raw).is_err() {
            return Ok(Err(format!("`{path}` holds {raw}, not a string")));
        }
        Ok(inner(at, text))
    }

    /// The range of member `key` of the JSON value at `at`, when that value is an object
    /// that has it. Each object is read once, whatever the number of lookups in it.
    fn member(&self, at: &Range<usize>, key: &str) -> Option<Range<usize>> {
        let mut objects = self.json_objects.borrow_mut();
        let members = objects.entry(at.start).or_insert_with(|| {
            // The document parsed whole, so every nested value parses too; a non-object is a miss.
            let text = &self.text;
            let object: Option<BTreeMap<String, &RawValue>> = serde_json::from_str(&text[at.clone()]).ok();
            object.map(|o| o.into_iter().map(|(k, raw)| (k, range_in(text, raw))).collect())
        });
        members.as_ref().and_then(|m| m.get(key)).cloned()
    }
}

/// The byte range of `raw` in `text`, which it borrows from: the distance between the pointers.
fn range_in(text: &str, raw: &RawValue) -> Range<usize> {
    let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
    start..start + raw.get().len()
}

/// Byte range inside the quotes of a one-line string value, if `repr` is one.
fn inner(repr_span: Range<usize>, text: &str) -> Result<Range<usize>, String> {
    let repr = &text[repr_span.clone()];
    let quoted = repr.len() >= 2
        && ((repr.starts_with('"') && repr.ends_with('"')) || (repr.starts_with('\'') && repr.ends_with('\'')));
    if !quoted || repr.starts_with("\"\"\"") || repr.starts_with("'''") {
        return Err(format!("holds {repr}, not a one-line string"));
    }
    let inside = repr_span.start + 1..repr_span.end - 1;
    if text[inside.clone()].contains('\\') {
        return Err(format!("holds {repr}, an escaped string (write the version plainly)"));
    }
    Ok(inside)
}
