//! Reading and writing profile text: [`Profile::parse`], [`Profile::load`],
//! [`Profile::to_toml`].

use crate::error::{ErrorKind, ProfileError};
use crate::locate;
use crate::schema::{Param, Profile};
use crate::validate::validate;
use std::path::Path;

impl Profile {
    /// Parses and validates a profile; `origin` names the text in errors (a file name).
    ///
    /// Errors name the line (and column where known) and the dotted field.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        // One pass: `toml` reports syntax errors and schema (serde) errors alike, with a span;
        // `classify` tells them apart by serde's message forms.
        let profile: Profile =
            toml::from_str(text).map_err(|e| from_toml(text, origin, &e, classify(&e)))?;
        if let Err((kind, field, message)) = validate(&profile) {
            let mut err = ProfileError::new(origin, kind, &field, message);
            if let Some(off) = locate::offset_of(text, &field) {
                err = err.at_offset(text, off);
            }
            return Err(err);
        }
        Ok(profile)
    }

    /// Reads and parses the profile in file `path`.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProfileError::new(&origin, ErrorKind::Io, "", e.to_string()))?;
        Profile::parse(&text, &origin)
    }

    /// The profile as TOML text that [`Profile::parse`] reads back to an equal profile: one
    /// table per section, each parameter an inline table on one line.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for (key, v) in [
            ("name", &self.name),
            ("description", &self.description),
            ("arch", &self.arch),
        ] {
            out.push_str(&format!("{key} = {}\n", toml_string(v)));
        }
        let mut table = "";
        for (t, key, p) in self.params() {
            if t != table {
                out.push_str(&format!("\n[{t}]\n"));
                table = t;
            }
            out.push_str(&format!("{key} = {}\n", inline(p)));
        }
        out
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `{ value = …, source = "…" }` (or `estimate`, or both if a hand-built param has both).
fn inline(p: &Param) -> String {
    let mut s = format!("{{ value = {}", toml::Value::Float(p.value));
    if let Some(src) = &p.source {
        s.push_str(&format!(", source = {}", toml_string(src)));
    }
    if let Some(est) = &p.estimate {
        s.push_str(&format!(", estimate = {}", toml_string(est)));
    }
    s.push_str(" }");
    s
}

fn classify(e: &toml::de::Error) -> ErrorKind {
    let m = e.message();
    if m.starts_with("unknown field") {
        ErrorKind::UnknownField
    } else if m.starts_with("missing field") {
        ErrorKind::MissingField
    } else if m.starts_with("invalid type") || m.starts_with("invalid value") {
        ErrorKind::WrongType
    } else {
        ErrorKind::Syntax
    }
}

/// A `toml` error as a [`ProfileError`], with the field found from the error's span.
fn from_toml(text: &str, origin: &str, e: &toml::de::Error, kind: ErrorKind) -> ProfileError {
    let mut message = e.message().trim().replace('\n', "; ");
    if message.is_empty() {
        // `toml` leaves some syntax errors (a key with no value at the end) unexplained.
        message = "invalid TOML here (incomplete key, value or table?)".to_string();
    }
    let Some(span) = e.span() else {
        let field = quoted(&message).unwrap_or_default();
        return ProfileError::new(origin, kind, &field, message);
    };
    // The root table's span starts at 0; any other table's starts at its `[` or `{`, and the
    // last key at or before the span's start is the field (or, for a missing field, its table).
    let root = kind == ErrorKind::MissingField && span.start == 0 && !text.starts_with('[');
    let mut field = if root {
        String::new()
    } else {
        locate::path_at(text, span.start)
    };
    if kind == ErrorKind::MissingField {
        if let Some(missing) = quoted(&message) {
            field = if field.is_empty() {
                missing
            } else {
                format!("{field}.{missing}")
            };
        }
    }
    ProfileError::new(origin, kind, &field, message).at_offset(text, span.start)
}

/// The first `backquoted` word of a serde message (the field it is about).
fn quoted(message: &str) -> Option<String> {
    let rest = &message[message.find('`')? + 1..];
    Some(rest[..rest.find('`')?].to_string())
}
