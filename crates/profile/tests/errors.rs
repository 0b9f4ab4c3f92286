//! Every kind of error names the file, the line of the offending field, and the field.

use lazymm_profile::{find, ErrorKind, Profile, ProfileError};

const ICX: &str = include_str!("../../../profiles/intel-icx-2s.toml");

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("needle {needle:?} not in text"));
    text[..at].matches('\n').count() + 1
}

fn err(text: &str) -> ProfileError {
    match Profile::parse(text, "m.toml") {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => e,
    }
}

/// A text mutation: the first `from` becomes `to`.
struct Case {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    kind: ErrorKind,
    field: &'static str,
    /// The reported line is this text's line in the mutated file.
    line_of: &'static str,
}

const SOCKET: &str = "socket = { value = 51.0, source = \"";

#[rustfmt::skip]
const TEXT_CASES: &[Case] = &[
    Case { what: "syntax", from: SOCKET, to: "socket = { value = , source = \"", kind: ErrorKind::Syntax, field: "coherence.socket.value", line_of: "socket = { value = ," },
    Case { what: "duplicate key", from: "[tlb]\n", to: "[tlb]\nlocal_flush = { value = 1.0, source = \"x\" }\n", kind: ErrorKind::Syntax, field: "tlb.local_flush", line_of: "local_flush = { value = 89.7" },
    Case { what: "unknown key in a param", from: SOCKET, to: "socket = { value = 51.0, foo = 1, source = \"", kind: ErrorKind::UnknownField, field: "coherence.socket.foo", line_of: "foo = 1" },
    Case { what: "unknown key in a table", from: "[tlb]\n", to: "[tlb]\nbogus = 1\n", kind: ErrorKind::UnknownField, field: "tlb.bogus", line_of: "bogus = 1" },
    Case { what: "unknown table", from: "[tlb]\n", to: "[bogus]\nx = 1\n[tlb]\n", kind: ErrorKind::UnknownField, field: "bogus", line_of: "[bogus]" },
    Case { what: "unknown top-level key", from: "arch = ", to: "cpus = 4\narch = ", kind: ErrorKind::UnknownField, field: "cpus", line_of: "cpus = 4" },
    Case { what: "missing param", from: "\nrmw = {", to: "\n# rmw = {", kind: ErrorKind::MissingField, field: "coherence.rmw", line_of: "[coherence]" },
    Case { what: "misspelt param", from: "\nrmw = {", to: "\nxrmw = {", kind: ErrorKind::UnknownField, field: "coherence.xrmw", line_of: "xrmw = {" },
    Case { what: "missing value", from: "socket = { value = 51.0,", to: "socket = {", kind: ErrorKind::MissingField, field: "coherence.socket.value", line_of: "socket = { source" },
    Case { what: "missing top-level key", from: "arch = \"x86\"\n", to: "", kind: ErrorKind::MissingField, field: "arch", line_of: "# Machine profile" },
    Case { what: "wrong type", from: SOCKET, to: "socket = { value = \"51\", source = \"", kind: ErrorKind::WrongType, field: "coherence.socket.value", line_of: "socket = { value = \"51\"" },
    Case { what: "table for a number", from: SOCKET, to: "socket = { value = { a = 1 }, source = \"", kind: ErrorKind::WrongType, field: "coherence.socket.value", line_of: "socket = { value = {" },
    Case { what: "both source and estimate", from: SOCKET, to: "socket = { value = 51.0, estimate = \"e\", source = \"", kind: ErrorKind::Provenance, field: "coherence.socket.estimate", line_of: "estimate = \"e\"" },
    Case { what: "negative", from: SOCKET, to: "socket = { value = -51.0, source = \"", kind: ErrorKind::BadValue, field: "coherence.socket.value", line_of: "value = -51.0" },
    Case { what: "nan", from: SOCKET, to: "socket = { value = nan, source = \"", kind: ErrorKind::BadValue, field: "coherence.socket.value", line_of: "value = nan" },
    Case { what: "infinite", from: SOCKET, to: "socket = { value = inf, source = \"", kind: ErrorKind::BadValue, field: "coherence.socket.value", line_of: "value = inf" },
    Case { what: "fractional count", from: "smt = { value = 2.0", to: "smt = { value = 2.5", kind: ErrorKind::BadCount, field: "topology.smt.value", line_of: "value = 2.5" },
    Case { what: "zero count", from: "nodes = { value = 1.0", to: "nodes = { value = 0", kind: ErrorKind::BadCount, field: "topology.nodes.value", line_of: "nodes = { value = 0" },
    Case { what: "huge count", from: "nodes = { value = 1.0", to: "nodes = { value = 1e300", kind: ErrorKind::BadCount, field: "topology.nodes.value", line_of: "value = 1e300" },
    Case { what: "too many CPUs", from: "nodes = { value = 1.0", to: "nodes = { value = 65536", kind: ErrorKind::BadCount, field: "topology.nodes.value", line_of: "value = 65536" },
    Case { what: "unknown arch", from: "arch = \"x86\"", to: "arch = \"mips\"", kind: ErrorKind::BadName, field: "arch", line_of: "arch = \"mips\"" },
    Case { what: "empty name", from: "name = \"intel-icx-2s\"", to: "name = \"\"", kind: ErrorKind::BadName, field: "name", line_of: "name = \"\"" },
    Case { what: "home_aware not a flag", from: "home_aware = { value = 0.0", to: "home_aware = { value = 0.5", kind: ErrorKind::BadFlag, field: "coherence.home_aware.value", line_of: "home_aware = { value = 0.5" },
    Case { what: "asid not a flag", from: "asid = { value = 1.0", to: "asid = { value = 2", kind: ErrorKind::BadFlag, field: "tlb.asid.value", line_of: "asid = { value = 2" },
    Case { what: "invlpgb not a flag", from: "invlpgb = { value = 0.0", to: "invlpgb = { value = 3", kind: ErrorKind::BadFlag, field: "tlb.invlpgb.value", line_of: "invlpgb = { value = 3" },
    Case { what: "polling not a flag", from: "polling = { value = 1.0", to: "polling = { value = 0.1", kind: ErrorKind::BadFlag, field: "idle.polling.value", line_of: "polling = { value = 0.1" },
    Case { what: "invlpgb off x86", from: "arch = \"x86\"", to: "arch = \"arm64\"", kind: ErrorKind::BadFlag, field: "tlb.invlpgb.value", line_of: "invlpgb = {" },
];

#[test]
fn text_errors_name_line_and_field() {
    for c in TEXT_CASES {
        assert!(
            ICX.contains(c.from),
            "{}: {:?} not in the profile",
            c.what,
            c.from
        );
        let mut text = ICX.replacen(c.from, c.to, 1);
        if c.what == "invlpgb off x86" {
            text = text.replacen("invlpgb = { value = 0.0", "invlpgb = { value = 1.0", 1);
        }
        let e = err(&text);
        assert_eq!(e.kind, c.kind, "{}: {e}", c.what);
        assert_eq!(e.field, c.field, "{}: {e}", c.what);
        assert_eq!(e.line, Some(line_of(&text, c.line_of)), "{}: {e}", c.what);
        assert_eq!(e.origin, "m.toml");
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("m.toml:{}:", line_of(&text, c.line_of))),
            "{shown}"
        );
        assert!(shown.contains(c.field), "{shown}");
    }
}

/// Provenance errors that a text edit cannot make in one place, built on the struct.
#[test]
fn provenance_errors_from_edited_profiles() {
    type Edit = fn(&mut Profile);
    let cases: [(&str, Edit, &str); 3] = [
        (
            "neither",
            |p| p.coherence.socket.source = None,
            "coherence.socket",
        ),
        (
            "empty source",
            |p| p.coherence.socket.source = Some("  ".into()),
            "coherence.socket.source",
        ),
        (
            "empty estimate",
            |p| p.coherence.local.estimate = Some(String::new()),
            "coherence.local.estimate",
        ),
    ];
    for (what, edit, field) in cases {
        let mut p = find("intel-icx-2s").unwrap();
        edit(&mut p);
        let text = p.to_toml();
        let e = err(&text);
        assert_eq!(e.kind, ErrorKind::Provenance, "{what}: {e}");
        assert_eq!(e.field, field, "{what}: {e}");
        let key = field.split('.').nth(1).unwrap();
        let line = text
            .lines()
            .position(|l| l.starts_with(&format!("{key} = ")))
            .unwrap();
        assert_eq!(e.line, Some(line + 1), "{what}: {e}");
    }
}

/// Parameters written as `[table.param]` sub-tables are located too.
#[test]
fn sub_table_params_are_located() {
    let text = ICX.replacen(
        "socket = { value = 51.0, source = \"",
        "xx = 0\n[coherence.socket]\nvalue = -1.0\nsource = \"",
        1,
    );
    // Close the sub-table before the next coherence key: move the rest into its own table.
    let text = text.replacen(
        "\" }\ncross_socket",
        "\"\n[coherence.rest]\ncross_socket",
        1,
    );
    let e = err(&text);
    // The first problem is the unknown `xx`, then (once fixed) the rest; check `xx` first.
    assert_eq!(e.field, "coherence.xx", "{e}");
    let text = text.replacen("xx = 0\n", "", 1);
    let e = err(&text);
    assert_eq!(e.field, "coherence.rest", "{e}");
    assert_eq!(e.line, Some(line_of(&text, "[coherence.rest]")));
}

#[test]
fn missing_table_is_named() {
    let text = &ICX[..ICX.find("\n[sched]").unwrap()];
    let e = err(text);
    assert_eq!(
        (e.kind, e.field.as_str(), e.line),
        (ErrorKind::MissingField, "sched", Some(1)),
        "{e}"
    );
}

#[test]
fn io_errors_name_the_file() {
    let e = Profile::load(std::path::Path::new("/nonexistent/p.toml")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.to_string().starts_with("/nonexistent/p.toml: "), "{e}");
}

#[test]
fn integers_are_accepted_for_values() {
    let text = ICX.replacen(SOCKET, "socket = { value = 51, source = \"", 1);
    assert_eq!(
        Profile::parse(&text, "m").unwrap().coherence.socket.get(),
        51.0
    );
}
