//! A small glob matcher for `when_changed`: `*` (any characters within one path segment),
//! `?` (one character, not `/`), `**` (any number of whole segments, including none) and
//! literal text. Patterns are anchored at the repository root: `Cargo.toml` matches only the
//! root manifest, `**/Cargo.toml` matches every one.

/// Whether the `/`-separated `path` (relative to the repository root) matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_start_matches("./").split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    segments(&pattern, &path)
}

fn segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| segments(rest, &path[skip..])),
        Some((first, rest)) => path
            .split_first()
            .is_some_and(|(name, others)| segment(first.as_bytes(), name.as_bytes()) && segments(rest, others)),
    }
}

/// `*` and `?` within one segment, by backtracking to the last `*` (linear in practice).
fn segment(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                n += 1;
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("Cargo.toml", "Cargo.toml", true),
            ("Cargo.toml", "sub/Cargo.toml", false),
            ("Cargo.toml", "Cargo.tom", false),
            ("**/Cargo.toml", "Cargo.toml", true),
            ("**/Cargo.toml", "a/b/Cargo.toml", true),
            ("src/core/**", "src/core/pool.rs", true),
            ("src/core/**", "src/core/a/b/c.rs", true),
            ("src/core/**", "src/corex/pool.rs", false),
            ("src/core/**", "src/lib.rs", false),
            ("src/mcp*.rs", "src/mcp.rs", true),
            ("src/mcp*.rs", "src/mcp_server.rs", true),
            ("src/mcp*.rs", "src/sub/mcp.rs", false),
            ("bindings/**/package*.json", "bindings/node/package-lock.json", true),
            ("bindings/**/package*.json", "bindings/package.json", true),
            ("bindings/**/package*.json", "bindings/node/lib/index.js", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "a/c", false),
            ("*", "file", true),
            ("*", "dir/file", false),
            ("**", "dir/file", true),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**/b", "a/x/y/c", false),
            ("*.rs", "main.rs", true),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "xxaxxbxx", false),
            ("./vendor/**", "vendor/lite3/x.c", true),
            ("", "", true),
            ("x", "", false),
        ];
        for (pattern, path, want) in cases {
            assert_eq!(matches(pattern, path), *want, "{pattern:?} vs {path:?}");
        }
    }
}
