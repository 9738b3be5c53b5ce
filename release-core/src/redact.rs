//! Keeping secrets out of everything the tool writes: output, evidence, blocker bodies, errors.
//!
//! Two nets: the exact values of the token variables set in the environment, and the shapes of
//! well-known tokens (GitHub, PyPI, npm) and of `Authorization:` headers, for secrets that
//! arrive in a log excerpt without being in our environment.

/// What a secret is replaced with.
pub const MASK: &str = "[REDACTED]";

/// `text` with every listed secret and every token-shaped word masked.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        out = out.replace(secret.as_str(), MASK);
    }
    mask_token_shapes(&out)
}

const PREFIXES: [&str; 8] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "pypi-", "npm_"];

fn mask_token_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut mask_next = false;
    for (i, piece) in text.split_inclusive(|c: char| c.is_whitespace()).enumerate() {
        let word = piece.trim_end_matches(|c: char| c.is_whitespace());
        let tail = &piece[word.len()..];
        let lower = word.to_ascii_lowercase();
        let token_shaped = PREFIXES.iter().any(|p| {
            word.find(p).is_some_and(|at| {
                let rest = &word[at + p.len()..];
                rest.len() >= 16 && rest.bytes().take(16).all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
        });
        if mask_next && !word.is_empty() {
            let scheme = lower == "bearer" || lower == "token" || lower == "basic";
            out.push_str(if scheme { word } else { MASK });
            out.push_str(tail);
            mask_next = scheme && !tail.contains('\n');
            continue;
        }
        mask_next = false;
        if token_shaped {
            out.push_str(MASK);
            out.push_str(tail);
        } else {
            out.push_str(piece);
            // `Authorization: Bearer x`, `Authorization: token x`, `Bearer x`: mask what follows.
            mask_next =
                (lower == "authorization:" || lower == "bearer" || (lower == "token" && i > 0)) && !tail.contains('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn leaves_ordinary_text_alone() {
        let text = "error: test pool::append failed at line 3\nnpm_config is fine, so is pypi-ish";
        assert_eq!(redact(text, &[]), text);
    }
}
