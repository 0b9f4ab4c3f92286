//! [`ProfileError`]: what went wrong with a profile, and where (file, line, column, field).

use std::fmt;

/// The kind of problem a [`ProfileError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// Not valid TOML (the `toml` parser's message says why).
    Syntax,
    /// A key the schema does not have.
    UnknownField,
    /// A key the schema requires is absent.
    MissingField,
    /// A value of the wrong type (a string where a number goes, a number where a table goes).
    WrongType,
    /// A parameter with both `source` and `estimate`, with neither, or with an empty one.
    Provenance,
    /// A negative, NaN or infinite value.
    BadValue,
    /// A topology count that is not a whole number ≥ 1, or a machine too large to number.
    BadCount,
    /// A flag (`home_aware`, `asid`, `invlpgb`, `polling`) that is not 0 or 1, or a flag set
    /// on an arch that cannot have it.
    BadFlag,
    /// An `arch` outside `x86`, `arm64`, `ppc-radix`, `ppc-hash`, or an empty `name`.
    BadName,
    /// [`crate::find`] found no profile by that name.
    NotFound,
}

/// An error in a profile, naming the file, the place in it and the field.
///
/// Displayed as `file:line:column: field: message` (the parts that are known).
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileError {
    /// The file (or other origin) the text came from.
    pub origin: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column (in characters), where known.
    pub column: Option<usize>,
    /// Dotted path of the field, e.g. `coherence.socket.source`; empty when the error is not
    /// about one field.
    pub field: String,
    /// What kind of problem.
    pub kind: ErrorKind,
    /// The problem, in words.
    pub message: String,
}

impl ProfileError {
    /// An error with no position yet.
    pub(crate) fn new(origin: &str, kind: ErrorKind, field: &str, message: String) -> Self {
        ProfileError {
            origin: origin.to_string(),
            line: None,
            column: None,
            field: field.to_string(),
            kind,
            message,
        }
    }

    /// Sets the position from a byte offset into `text`.
    pub(crate) fn at_offset(mut self, text: &str, offset: usize) -> Self {
        let (line, column) = line_col(text, offset);
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ProfileError {}

/// 1-based line and column (in characters) of byte `offset` in `text`; an offset past the
/// end, or inside a character, counts as the position just after the last whole character
/// before it.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for (i, ch) in text.char_indices() {
        if i >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        let t = "ab\nçd\ne";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 5), (2, 2)); // after the two-byte 'ç'
        assert_eq!(line_col(t, 4), (2, 2)); // inside 'ç'
        assert_eq!(line_col(t, 100), (3, 2));
    }

    #[test]
    fn display_names_file_line_column_and_field() {
        let e = ProfileError::new("p.toml", ErrorKind::BadValue, "tlb.asid", "bad".into())
            .at_offset("a\nbc", 3);
        assert_eq!(e.to_string(), "p.toml:2:2: tlb.asid: bad");
    }
}
