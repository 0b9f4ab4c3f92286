//! Finding fields in TOML text: a tolerant scanner that lists every key with its dotted path
//! and byte offset, so that an error can name the field at an offset, or the line of a field.
//!
//! It understands what profiles use (tables, array-of-table headers, dotted and quoted keys,
//! inline tables, arrays, all four string forms, comments) and never fails: on anything else
//! it skips to the next line.

/// A key in the text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Key {
    /// Dotted path (table path + key path).
    pub path: String,
    /// Byte offset where the key (or the header's `[`) starts.
    pub start: usize,
}

/// Every key of `text`, in text order.
pub(crate) fn keys(text: &str) -> Vec<Key> {
    let mut s = Scanner {
        b: text.as_bytes(),
        pos: 0,
        out: Vec::new(),
    };
    s.document();
    s.out
}

/// The dotted path of the field at byte `offset`: the last key starting at or before it.
pub(crate) fn path_at(text: &str, offset: usize) -> String {
    keys(text)
        .into_iter()
        .take_while(|k| k.start <= offset)
        .last()
        .map(|k| k.path)
        .unwrap_or_default()
}

/// The byte offset of `path`'s key, or of its longest prefix that is in the text.
pub(crate) fn offset_of(text: &str, path: &str) -> Option<usize> {
    let ks = keys(text);
    let mut p = path;
    loop {
        if let Some(k) = ks.iter().find(|k| k.path == p) {
            return Some(k.start);
        }
        p = &p[..p.rfind('.')?];
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    out: Vec<Key>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, s: &str) -> bool {
        self.b[self.pos.min(self.b.len())..].starts_with(s.as_bytes())
    }

    /// Skips spaces and tabs (and newlines and comments too if `lines`).
    fn ws(&mut self, lines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' if lines => self.pos += 1,
                b'#' if lines => self.skip_line(),
                _ => break,
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == b'\n' {
                break;
            }
        }
    }

    fn document(&mut self) {
        let mut table: Vec<String> = Vec::new();
        while self.pos < self.b.len() {
            let before = self.pos;
            self.ws(true);
            match self.peek() {
                None => break,
                Some(b'[') => {
                    let start = self.pos;
                    self.pos += if self.at("[[") { 2 } else { 1 };
                    if let Some(path) = self.key_path() {
                        self.out.push(Key {
                            path: path.join("."),
                            start,
                        });
                        table = path;
                    }
                    self.skip_line();
                }
                Some(_) => {
                    let start = self.pos;
                    match self.key_path() {
                        Some(path) => {
                            let mut full = table.clone();
                            full.extend(path);
                            self.out.push(Key {
                                path: full.join("."),
                                start,
                            });
                            self.ws(false);
                            if self.peek() == Some(b'=') {
                                self.pos += 1;
                                self.value(&full);
                            }
                            self.ws(false);
                            if self.peek() == Some(b'#') || self.peek() == Some(b'\n') {
                                self.skip_line();
                            }
                        }
                        None => self.skip_line(),
                    }
                }
            }
            if self.pos == before {
                self.skip_line();
            }
        }
    }

    /// A dotted key; `None` if there is none here.
    fn key_path(&mut self) -> Option<Vec<String>> {
        let mut path = Vec::new();
        loop {
            self.ws(false);
            path.push(self.key()?);
            self.ws(false);
            if self.peek() == Some(b'.') {
                self.pos += 1;
            } else {
                return Some(path);
            }
        }
    }

    fn key(&mut self) -> Option<String> {
        let start = self.pos;
        match self.peek()? {
            b'"' | b'\'' => {
                self.string();
                let end = self.pos.saturating_sub(1).max(start + 1);
                let raw = self.b.get(start + 1..end).unwrap_or_default();
                Some(String::from_utf8_lossy(raw).into_owned())
            }
            _ => {
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                {
                    self.pos += 1;
                }
                (self.pos > start)
                    .then(|| String::from_utf8_lossy(&self.b[start..self.pos]).into_owned())
            }
        }
    }

    /// Skips a string of any of the four forms, starting at its quote.
    fn string(&mut self) {
        let q = self.b[self.pos];
        let triple = if q == b'"' { "\"\"\"" } else { "'''" };
        if self.at(triple) {
            self.pos += 3;
            while self.pos < self.b.len() && !self.at(triple) {
                self.pos += if q == b'"' && self.b[self.pos] == b'\\' {
                    2
                } else {
                    1
                };
            }
            self.pos = (self.pos + 3).min(self.b.len());
            // A triple-quoted string may end with up to two more quotes.
            while self.peek() == Some(q) {
                self.pos += 1;
            }
            return;
        }
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == q || c == b'\n' {
                return;
            }
            if q == b'"' && c == b'\\' {
                self.pos = (self.pos + 1).min(self.b.len());
            }
        }
    }

    /// A value after `=`; inline tables add their keys under `prefix`.
    fn value(&mut self, prefix: &[String]) {
        self.ws(false);
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                loop {
                    self.ws(false);
                    match self.peek() {
                        Some(b'}') => {
                            self.pos += 1;
                            return;
                        }
                        Some(b',') => self.pos += 1,
                        None | Some(b'\n') => return,
                        Some(_) => {
                            let start = self.pos;
                            let Some(path) = self.key_path() else { return };
                            let mut full = prefix.to_vec();
                            full.extend(path);
                            self.out.push(Key {
                                path: full.join("."),
                                start,
                            });
                            self.ws(false);
                            if self.peek() != Some(b'=') {
                                return;
                            }
                            self.pos += 1;
                            self.value(&full);
                        }
                    }
                }
            }
            Some(b'[') => {
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'"' | b'\'' => {
                            self.string();
                            continue;
                        }
                        b'#' => {
                            self.skip_line();
                            continue;
                        }
                        b'[' => depth += 1,
                        b']' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    self.pos += 1;
                    if depth == 0 {
                        return;
                    }
                }
            }
            Some(b'"' | b'\'') => self.string(),
            _ => {
                while !matches!(self.peek(), None | Some(b',' | b'}' | b']' | b'\n' | b'#')) {
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "name = \"x # y\" # c\n\
                     [coherence]\n\
                     socket = { value = 1.0, source = \"a, b}\" }\n\
                     \"quoted.key\".x = 2\n\
                     arr = [1, [2, \"]\"], { a = 1 }]\n\
                     [[tlb . list]]\n\
                     k = '''multi\n\
                     line'''\n\
                     after = 3\n";

    #[test]
    fn lists_keys_with_paths() {
        let paths: Vec<String> = keys(T).into_iter().map(|k| k.path).collect();
        assert_eq!(
            paths,
            [
                "name",
                "coherence",
                "coherence.socket",
                "coherence.socket.value",
                "coherence.socket.source",
                "coherence.quoted.key.x",
                "coherence.arr",
                "tlb.list",
                "tlb.list.k",
                "tlb.list.after",
            ]
        );
    }

    #[test]
    fn path_at_and_offset_of() {
        let off = T.find("source").unwrap();
        assert_eq!(path_at(T, off + 2), "coherence.socket.source");
        assert_eq!(offset_of(T, "coherence.socket.estimate"), T.find("socket"));
        assert_eq!(offset_of(T, "nothing.here"), None);
        assert_eq!(path_at(T, 0), "name");
    }

    #[test]
    fn never_panics_or_hangs_on_prefixes() {
        for i in 0..=T.len() {
            if let Some(p) = T.get(..i) {
                let _ = keys(p);
            }
        }
        for junk in [
            "[", "[[", "=", "a.", "\"", "'''", "{", "a = {", "a = [", "a = \"\\",
        ] {
            let _ = keys(junk);
        }
    }
}
