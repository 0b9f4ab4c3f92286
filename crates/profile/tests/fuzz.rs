//! Damaged profiles never panic: every prefix of every builtin file, and single-character
//! mutations of each, give an error or a profile.
//!
//! Under `--release` (the project's test command) every prefix is tried; a debug build, where
//! the TOML parser is about twenty times slower, tries every 97th prefix and every line end, and fewer mutations.

use lazymm_profile::{Profile, BUILTIN};

/// Every how many characters a prefix is tried.
const PREFIX_STRIDE: usize = if cfg!(debug_assertions) { 97 } else { 1 };

/// Every how many characters a mutation is tried.
const MUTATION_STRIDE: usize = if cfg!(debug_assertions) { 997 } else { 29 };

#[test]
fn every_prefix_of_every_builtin_parses_or_errs() {
    for (name, text) in BUILTIN {
        let mut ok = 0;
        let ends = text.char_indices().map(|(i, _)| i).chain([text.len()]);
        for (n, i) in ends.enumerate() {
            let line_end = text[i..].starts_with('\n') || text[..i].ends_with('\n');
            if n % PREFIX_STRIDE != 0 && !line_end && i != text.len() {
                continue;
            }
            match Profile::parse(&text[..i], name) {
                Ok(p) => {
                    assert_eq!(p.name, name);
                    ok += 1;
                }
                Err(e) => assert!(!e.message.is_empty() && e.origin == name, "{e:?}"),
            }
        }
        // Only the whole file, or it less its final newline, is a complete profile.
        assert!((1..=2).contains(&ok), "{name}: {ok}");
    }
}

#[test]
fn mutations_never_panic() {
    const INSERTS: [&str; 12] = ["\"", "'", "{", "}", "[", "]", "=", ",", "\n", "#", "-", "."];
    for (name, text) in BUILTIN {
        let positions = text.char_indices().map(|(i, _)| i).step_by(MUTATION_STRIDE);
        for i in positions {
            let next = text[i..].chars().next().map_or(i, |c| i + c.len_utf8());
            let deleted = format!("{}{}", &text[..i], &text[next..]);
            let _ = Profile::parse(&deleted, name);
            for ins in INSERTS {
                let inserted = format!("{}{ins}{}", &text[..i], &text[i..]);
                let replaced = format!("{}{ins}{}", &text[..i], &text[next..]);
                for t in [inserted, replaced] {
                    if let Err(e) = Profile::parse(&t, name) {
                        assert!(!e.message.is_empty());
                    }
                }
            }
        }
    }
}
