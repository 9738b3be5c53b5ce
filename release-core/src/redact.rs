//! Keeping secrets out of everything the tool writes: output, evidence, blocker bodies, errors.
//!
//! Two nets: the exact values of the token variables set in the environment, and the shapes of
//! well-known tokens (GitHub, PyPI, npm) and of `Authorization:` headers, for secrets that
//! arrive in a log excerpt without being in our environment.

/// What a secret is replaced with.
pub const MASK: &str = "[REDACTED]";

/// The one redaction point: built once from the environment's secrets, used by every writer.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor of `secrets` (values shorter than 8 characters are ignored: they would mask
    /// ordinary words) and of token shapes.
    pub fn new(secrets: &[String]) -> Redactor {
        Redactor { secrets: secrets.iter().filter(|s| s.len() >= 8).cloned().collect() }
    }

    /// A redactor of the secrets in `env` ([`crate::env::Env::secrets`]).
    pub fn from_env(env: &crate::env::Env) -> Redactor {
        Redactor::new(&env.secrets())
    }

    /// `text` with every secret masked, including one folded over several lines (the pieces
    /// of adjacent lines, trimmed, concatenate to it), then every token-shaped word.
    pub fn redact(&self, text: &str) -> String {
        let lines: Vec<&str> = text.split('\n').collect();
        // The trimmed piece of each line, concatenated, with where each byte came from.
        let mut joined = String::new();
        let mut origin: Vec<(usize, usize)> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let start = line.len() - line.trim_start().len();
            let piece = line.trim();
            joined.push_str(piece);
            origin.extend((0..piece.len()).map(|b| (i, start + b)));
        }
        let mut covered: Vec<Vec<bool>> = lines.iter().map(|l| vec![false; l.len()]).collect();
        for secret in &self.secrets {
            for (at, _) in joined.match_indices(secret.as_str()) {
                for &(line, byte) in &origin[at..at + secret.len()] {
                    covered[line][byte] = true;
                }
            }
            // A secret inside one line with inner whitespace is not in the trimmed join only
            // when it spans lines; the plain search covers the rest.
            for (i, line) in lines.iter().enumerate() {
                for (at, _) in line.match_indices(secret.as_str()) {
                    covered[i][at..at + secret.len()].iter_mut().for_each(|c| *c = true);
                }
            }
        }
        let masked: Vec<String> = lines
            .iter()
            .zip(&covered)
            .map(|(line, covered)| {
                let mut out = String::with_capacity(line.len());
                let mut in_mask = false;
                for (b, ch) in line.char_indices() {
                    if covered[b] {
                        if !in_mask {
                            out.push_str(MASK);
                        }
                        in_mask = true;
                    } else {
                        in_mask = false;
                        out.push(ch);
                    }
                }
                mask_token_shapes(&out)
            })
            .collect();
        masked.join("\n")
    }

    /// Every string of a JSON value redacted in place (keys and shape unchanged).
    pub fn redact_value(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => *s = self.redact(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_value(v)),
            _ => {}
        }
    }

    /// Whether the trimmed pieces of `lines` end with the start of a secret, so the next
    /// line may complete it (a streaming writer holds such lines back).
    pub fn may_continue(&self, lines: &[String]) -> bool {
        let joined: String = lines.iter().map(|l| l.trim()).collect();
        self.secrets
            .iter()
            .any(|s| (1..s.len()).any(|k| s.is_char_boundary(k) && joined.ends_with(&s[..k]) && lines.len() < s.len()))
    }
}

/// Redacts a stream of lines: a line that may start a folded secret is held back until the
/// lines after it show whether it does, so no piece of a secret is written before it is known.
#[derive(Debug)]
pub struct LineRedactor {
    redactor: Redactor,
    held: Vec<String>,
}

impl LineRedactor {
    /// A line redactor using `redactor`.
    pub fn new(redactor: Redactor) -> LineRedactor {
        LineRedactor { redactor, held: Vec::new() }
    }

    /// Takes one line; returns the lines that may now be written, redacted.
    pub fn push(&mut self, line: String) -> Vec<String> {
        self.held.push(line);
        if self.redactor.may_continue(&self.held) {
            return Vec::new();
        }
        self.flush()
    }

    /// Every line still held, redacted (at the end of the stream).
    pub fn flush(&mut self) -> Vec<String> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let text = self.held.join("\n");
        self.held.clear();
        self.redactor.redact(&text).split('\n').map(str::to_owned).collect()
    }
}

const PREFIXES: [&str; 8] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "pypi-", "npm_"];

fn mask_token_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut mask_next = false;
    let mut after_header = false;
    for (i, piece) in text.split_inclusive(|c: char| c.is_whitespace()).enumerate() {
        let word = piece.trim_end_matches(|c: char| c.is_whitespace());
        let tail = &piece[word.len()..];
        // Quotes around a header (`-H 'Authorization: ...'`) do not hide it.
        let lower = word.to_ascii_lowercase().trim_start_matches(['\'', '"']).to_string();
        let token_shaped = PREFIXES.iter().any(|p| {
            word.find(p).is_some_and(|at| {
                let rest = &word[at + p.len()..];
                rest.len() >= 16 && rest.bytes().take(16).all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
        });
        if mask_next && !word.is_empty() {
            let scheme = lower == "bearer" || lower == "token" || lower == "basic";
            // After `Authorization:` the credentials are masked whatever they look like;
            // after a bare `Bearer`/`token` only a word that looks like a credential is, so
            // prose ("the PyPI token expired yesterday") stays as written.
            let credential = after_header || looks_like_credential(word);
            out.push_str(if scheme || !credential { word } else { MASK });
            out.push_str(tail);
            mask_next = scheme && !tail.contains('\n');
            continue;
        }
        mask_next = false;
        after_header = false;
        if token_shaped {
            out.push_str(MASK);
            out.push_str(tail);
        } else {
            out.push_str(piece);
            // `Authorization: Bearer x`, `Authorization: token x`, `Bearer x`: mask what follows.
            mask_next =
                (lower == "authorization:" || lower == "bearer" || (lower == "token" && i > 0)) && !tail.contains('\n');
            after_header = lower == "authorization:";
        }
    }
    out
}

/// A word that could be a credential: long, one run of token characters, with a digit.
fn looks_like_credential(word: &str) -> bool {
    let word = word.trim_matches(['\'', '"', ',', ';', '(', ')']);
    word.len() >= 16
        && word.bytes().any(|b| b.is_ascii_digit())
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+/=~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str, secrets: &[String]) -> String {
        Redactor::new(secrets).redact(text)
    }

    #[test]
    fn secrets_come_from_the_env_given() {
        let env = crate::env::Env::empty()
            .with("NPM_TOKEN", "npm-canary-from-env")
            .with("GH_TOKEN", "short")
            .with("HOME", "/home/not-a-secret");
        assert_eq!(env.secrets(), ["npm-canary-from-env"], "short values and other variables are not secrets");
        assert!(crate::env::Env::empty().secrets().is_empty(), "nothing from the process environment");
    }

    #[test]
    fn masks_known_values_and_shapes() {
        let secrets = vec!["s3cr3t-canary-value".to_string(), "short".to_string()];
        let text = "token s3cr3t-canary-value and ghp_abcdefghijklmnopqrstuvwxyz0123456789 short\n\
                    Authorization: Bearer eyJhbGciOi.abc\nPYPI=pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAw";
        let out = redact(text, &secrets);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(!out.contains("ghp_abc"), "{out}");
        assert!(!out.contains("eyJhbGciOi"), "{out}");
        assert!(!out.contains("pypi-AgE"), "{out}");
        assert!(out.contains("short"), "short values are not secrets: {out}");
        assert!(out.contains("Authorization: Bearer [REDACTED]"), "{out}");
    }

    #[test]
    fn prose_about_tokens_stays_as_written() {
        for text in ["the PyPI token expired yesterday", "a bearer of bad news", "token rotation is due"] {
            assert_eq!(redact(text, &[]), text);
        }
        assert_eq!(redact("use token ghx0123456789abcdefABCDEF", &[]), "use token [REDACTED]");
    }

    #[test]
    fn a_secret_folded_over_lines_is_masked_in_every_piece() {
        let secrets = vec!["c4nary-T0ken-0123456789".to_string()];
        let text = "token: c4nary-T0\n    ken-01234\n56789 done\nnext";
        let out = redact(text, &secrets);
        for piece in ["c4nary-T0", "ken-01234", "56789"] {
            assert!(!out.contains(piece), "{out}");
        }
        assert!(out.contains("done") && out.contains("next") && out.starts_with("token: "), "{out}");

        let mut stream = LineRedactor::new(Redactor::new(&secrets));
        let mut written = Vec::new();
        for line in text.split('\n') {
            written.extend(stream.push(line.to_string()));
        }
        written.extend(stream.flush());
        let written = written.join("\n");
        assert!(!written.contains("c4nary") && !written.contains("56789") && written.contains("next"), "{written}");
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let text = "error: test pool::append failed at line 3\nnpm_config is fine, so is pypi-ish";
        assert_eq!(redact(text, &[]), text);
    }
}
