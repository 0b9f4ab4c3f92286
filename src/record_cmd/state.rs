//! Saving and restoring the tracefs settings `record` changes.
//!
//! [`StateGuard::set`] reads a control file before its first change and keeps the text that
//! puts it back; [`StateGuard::restore`] writes those texts in reverse order of the changes,
//! and `Drop` does it too, so an error or a panic between set-up and the end still restores.
//! The first change `record` makes is `tracing_on = 0`, so the reverse order restores every
//! other setting with tracing off and turns tracing back on (if it was on) last.
//!
//! What a file reads is not always what restores it; [`Kind`] says how to turn one into the
//! other. Not restorable, and said so in the docs: the ring buffer's old contents (cleared so
//! the trace starts empty) and an unexpanded boot-time buffer (`7 (expanded: 1408)`), which
//! comes back expanded at its would-be size.

use super::tracefs::{read, write};
use std::path::{Path, PathBuf};

/// How a control file's contents map to the text that restores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that reads as it is written (`tracing_on`, `current_tracer`, options, `enable`).
    Plain,
    /// A choice list with the current one bracketed: `[local] global counter` (a lone word,
    /// as a plain file holds after a write, is the current choice too).
    Choice,
    /// `buffer_size_kb`: `N`, `N (expanded: M)`, or `X` when the CPUs' sizes differ.
    BufferSize,
    /// A list cleared by an `O_TRUNC` open and restored by writing it back
    /// (`set_event`, `set_event_pid`).
    List,
    /// An event filter: `none` when there is none, else the expression.
    Filter,
}

/// The current value of a file of `kind`, in the form compared with a wanted value.
pub fn current(kind: Kind, text: &str) -> String {
    match kind {
        Kind::Choice => text
            .split_whitespace()
            .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
            .or_else(|| Some(text.trim()).filter(|t| !t.contains(char::is_whitespace)))
            .unwrap_or("")
            .to_string(),
        Kind::BufferSize => text.split_whitespace().next().unwrap_or("").to_string(),
        Kind::Filter if text.trim() == "none" => String::new(),
        Kind::Plain | Kind::List | Kind::Filter => text.trim().to_string(),
    }
}

/// The text that, written back, restores a file of `kind` that read `text`; `None` for a
/// `buffer_size_kb` of `X` (restored CPU by CPU instead).
pub fn restore_text(kind: Kind, text: &str) -> Option<String> {
    match kind {
        Kind::Plain | Kind::List => Some(text.to_string()),
        Kind::Choice => Some(current(kind, text)),
        Kind::Filter => Some(if text.trim() == "none" {
            "0".to_string()
        } else {
            text.to_string()
        }),
        Kind::BufferSize => {
            if let Some((_, exp)) = text.split_once("(expanded:") {
                Some(exp.trim().trim_end_matches(')').trim().to_string())
            } else if text.trim() == "X" {
                None
            } else {
                Some(text.trim().to_string())
            }
        }
    }
}

/// A saved control file: where, and the text that restores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Path relative to the tracefs root.
    pub rel: String,
    /// What to write to restore it.
    pub text: String,
}

/// The settings changed so far and their prior values; restores them when dropped.
pub struct StateGuard {
    root: PathBuf,
    saved: Vec<Saved>,
    restored: bool,
}

impl StateGuard {
    /// A guard over the tracefs at `root` that has changed nothing yet.
    pub fn new(root: &Path) -> Self {
        StateGuard {
            root: root.to_path_buf(),
            saved: Vec::new(),
            restored: false,
        }
    }

    /// The saved files, in the order they were first changed.
    pub fn saved(&self) -> &[Saved] {
        &self.saved
    }

    /// Set `rel` (a file of `kind`) to `value`, first saving how to restore it. A file already
    /// holding `value` is left untouched (and not saved); a file changed before keeps its
    /// first saved value.
    pub fn set(&mut self, rel: &str, kind: Kind, value: &str) -> Result<(), String> {
        let text = read(&self.root, rel)?;
        // Writing `0` to a filter clears it; a cleared filter reads `none` (current: "").
        let want = match (kind, value.trim()) {
            (Kind::Filter, "0") => "",
            (_, v) => v,
        };
        if current(kind, &text) == want {
            return Ok(());
        }
        if !self.saved.iter().any(|s| s.rel == rel) {
            match restore_text(kind, &text) {
                Some(t) => self.saved.push(Saved {
                    rel: rel.to_string(),
                    text: t,
                }),
                None => self.save_per_cpu(rel)?,
            }
        }
        write(&self.root, rel, value)
    }

    /// Save each `per_cpu/cpuN/<rel>` (a top-level `buffer_size_kb` of `X`).
    fn save_per_cpu(&mut self, rel: &str) -> Result<(), String> {
        let dir = self.root.join("per_cpu");
        let rd = std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("cpu"))
            .collect();
        names.sort();
        for n in names {
            let r = format!("per_cpu/{n}/{rel}");
            let t = read(&self.root, &r)?;
            let text = restore_text(Kind::BufferSize, &t)
                .ok_or_else(|| format!("{}: unexpected per-CPU value {t:?}", r))?;
            self.saved.push(Saved { rel: r, text });
        }
        Ok(())
    }

    /// Write back every saved value, the last change first. Every file is tried; the errors,
    /// if any, are returned together.
    pub fn restore(&mut self) -> Result<(), String> {
        self.restored = true;
        let errs: Vec<String> = self
            .saved
            .iter()
            .rev()
            .filter_map(|s| write(&self.root, &s.rel, &s.text).err())
            .collect();
        if errs.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "restoring tracefs {}: {}",
                self.root.display(),
                errs.join("; ")
            ))
        }
    }
}

impl Drop for StateGuard {
    fn drop(&mut self) {
        if !self.restored {
            if let Err(e) = self.restore() {
                eprintln!("warning: {e}");
            }
        }
    }
}
