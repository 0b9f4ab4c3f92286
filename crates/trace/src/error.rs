//! The error a parser reports for a line it cannot read.

use std::fmt;

/// Longest offending text an error keeps, in bytes (cut at a character boundary).
pub const MAX_TEXT: usize = 256;

/// A line that is not what its format allows: which line, what is wrong, what was expected,
/// and the line itself (truncated to [`MAX_TEXT`] bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number in the input.
    pub line: u64,
    /// What is wrong, e.g. "no `COMM-PID [CPU] TS:` header".
    pub message: String,
    /// The form the line or its fields should have had.
    pub expected: &'static str,
    /// The offending line, truncated.
    pub text: String,
}

impl ParseError {
    /// An error for `line` with `text` truncated to [`MAX_TEXT`] bytes.
    pub fn new(line: u64, message: impl Into<String>, expected: &'static str, text: &str) -> Self {
        Self {
            line,
            message: message.into(),
            expected,
            text: truncate(text, MAX_TEXT).into_owned(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}; expected {}: `{}`",
            self.line, self.message, self.expected, self.text
        )
    }
}

impl std::error::Error for ParseError {}

/// `s` cut to at most `max` bytes, at a character boundary, with `…` appended when cut.
fn truncate(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line_message_expected_and_text() {
        let e = ParseError::new(12, "bad pid", "a pid", "x-y [000]");
        assert_eq!(
            e.to_string(),
            "line 12: bad pid; expected a pid: `x-y [000]`"
        );
    }

    #[test]
    fn long_text_is_truncated_at_a_char_boundary() {
        let s = "é".repeat(300);
        let e = ParseError::new(1, "m", "e", &s);
        assert!(e.text.len() <= MAX_TEXT + "…".len());
        assert!(e.text.ends_with('…'));
    }
}
