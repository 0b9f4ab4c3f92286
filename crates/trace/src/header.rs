//! What every format's line shares: a header naming the current task, its CPU and a
//! timestamp, then `TS: EVENT: FIELDS`.
//!
//! A line is split at a timestamp (`SECONDS.FRACTION` preceded by a space and followed by `:`
//! and a space or the line's end). Comms may contain `:` and digits, so each such candidate is
//! tried left to right until the text before it parses as the format's header prefix and the
//! text after it starts with an event name (no spaces, then `:`), at most
//! [`MAX_CANDIDATES`] of them, so a long line of colons costs linear time, not quadratic.
//!
//! The formats print comms raw, so a comm holding `: ` or ending in `:` can itself hold a
//! whole header (`x 1 [0] 1: a:` is 13 bytes), and a line with one is ambiguous by
//! construction: the first reading wins. Comms without those (all but pathological ones,
//! `kworker/1:1` included) always read back as written.

/// The parts of a line every format has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The current task, its CPU (what precedes the timestamp).
    pub prefix: Prefix<'a>,
    /// The timestamp in nanoseconds.
    pub ts_ns: u64,
    /// The event's name as printed (perf includes the `system:` prefix).
    pub event: &'a str,
    /// The event's fields (leading padding removed).
    pub fields: &'a str,
}

/// The header prefix before the timestamp, as a format reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// The current task's comm.
    pub comm: &'a str,
    /// The current task's pid; `None` where perf lost the thread (`:-1 -1`).
    pub pid: Option<u32>,
    /// Its tgid, if printed.
    pub tgid: Option<u32>,
    /// The CPU.
    pub cpu: u32,
}

/// Timestamp candidates [`split`] tries per line (a real header holds one, or a few where the
/// comm holds `N:` runs).
pub const MAX_CANDIDATES: usize = 32;

/// Splits `line` into a [`Header`], reading the part before the timestamp with `prefix`.
pub fn split<'a>(
    line: &'a str,
    prefix: impl Fn(&'a str) -> Option<Prefix<'a>>,
) -> Option<Header<'a>> {
    let b = line.as_bytes();
    let mut from = 0;
    let mut tried = 0;
    while let Some(off) = line[from..].find(':') {
        let colon = from + off;
        from = colon + 1;
        if b.get(colon + 1).is_some_and(|&c| c != b' ') {
            continue;
        }
        let Some(start) = ts_start(b, colon) else {
            continue;
        };
        tried += 1;
        if tried > MAX_CANDIDATES {
            return None;
        }
        let Some(ts_ns) = parse_ts(&line[start..colon]) else {
            continue;
        };
        let Some(p) = prefix(line[..start - 1].trim_end_matches(' ')) else {
            continue;
        };
        let rest = line[colon + 1..].trim_start_matches(' ');
        let Some((event, fields)) = split_event(rest) else {
            continue;
        };
        return Some(Header {
            prefix: p,
            ts_ns,
            event,
            fields,
        });
    }
    None
}

/// Start of a timestamp ending just before `colon`: digits, optionally `.digits`, preceded by
/// a space that is not the line's first byte.
fn ts_start(b: &[u8], colon: usize) -> Option<usize> {
    let mut i = colon;
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i == colon {
        return None;
    }
    if i > 0 && b[i - 1] == b'.' {
        let frac_start = i;
        i -= 1;
        while i > 0 && b[i - 1].is_ascii_digit() {
            i -= 1;
        }
        if i + 1 == frac_start {
            return None;
        }
    }
    (i > 1 && b[i - 1] == b' ').then_some(i)
}

/// `SECONDS[.FRACTION]` (at most 9 fraction digits) in nanoseconds.
pub fn parse_ts(s: &str) -> Option<u64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || secs.is_empty() {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let mut ns: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..9 {
        ns *= 10;
    }
    secs.checked_mul(1_000_000_000)?.checked_add(ns)
}

/// `EVENT: FIELDS` (or `EVENT:` alone): the name ends at the first colon followed by a space
/// or the end, so perf's `sched:sched_switch` keeps its system.
fn split_event(rest: &str) -> Option<(&str, &str)> {
    let b = rest.as_bytes();
    let mut from = 0;
    while let Some(off) = rest[from..].find(':') {
        let i = from + off;
        if i + 1 == b.len() || b[i + 1] == b' ' {
            let name = &rest[..i];
            if name.is_empty() || name.contains(' ') {
                return None;
            }
            return Some((name, rest[i + 1..].trim_start_matches(' ')));
        }
        from = i + 1;
    }
    None
}

/// A decimal `u32` of ASCII digits only.
pub fn digits_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `[CPU]` at the end of `p`: `(before, cpu)`.
pub fn pop_cpu(p: &str) -> Option<(&str, u32)> {
    let inner = p.strip_suffix(']')?;
    let open = inner.rfind('[')?;
    Some((&p[..open], digits_u32(&inner[open + 1..])?))
}

/// `COMM-PID` (the pid follows the last dash; leading padding is not part of the comm).
pub fn dash_task(s: &str) -> Option<(&str, u32)> {
    let i = s.rfind('-')?;
    Some((s[..i].trim_start_matches(' '), digits_u32(&s[i + 1..])?))
}

/// Lines every format may carry that are not events: blank lines, `#` comments and headers,
/// `CPU:N [LOST N EVENTS]`, trace-cmd's `cpus=N`, `CPU N is empty`, `version = N`.
///
/// All of these start in the first column, while every format right-aligns the header's comm
/// in 16 columns, so an event line whose comm (at most 15 bytes in the kernel) starts with
/// `#` or `cpus=` begins with a space and is not taken for one.
pub fn is_noise(line: &str) -> bool {
    line.trim_start().is_empty()
        || line.starts_with('#')
        || line.starts_with("cpus=")
        || line.starts_with("version = ")
        || (line.starts_with("CPU")
            && (line.contains(" LOST ")
                || line.ends_with(" is empty")
                || line.contains(" EVENTS DROPPED")))
}

/// Puts a space before `line` unless it has one: every format pads the comm to 16 columns, so
/// real lines start with one for the kernel's 15-byte comms; a writer given a longer comm
/// keeps that, so the line is not taken for a comment or an instance prefix.
pub fn lead_with_space(mut line: String) -> String {
    if !line.starts_with(' ') {
        line.insert(0, ' ');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_scale_fractions_to_nanoseconds() {
        assert_eq!(parse_ts("20480.685346"), Some(20_480_685_346_000));
        assert_eq!(parse_ts("20549.885005573"), Some(20_549_885_005_573));
        assert_eq!(parse_ts("7"), Some(7_000_000_000));
        assert_eq!(parse_ts("1.5"), Some(1_500_000_000));
        assert_eq!(parse_ts("1.0123456789"), None);
        assert_eq!(parse_ts("99999999999999999999.0"), None);
    }

    #[test]
    fn event_name_keeps_perf_system_prefix() {
        assert_eq!(
            split_event("sched:sched_switch: a=b"),
            Some(("sched:sched_switch", "a=b"))
        );
        assert_eq!(
            split_event("sched_switch:      a=b"),
            Some(("sched_switch", "a=b"))
        );
        assert_eq!(split_event("x:"), Some(("x", "")));
        assert_eq!(split_event("no colon"), None);
    }
}

#[cfg(test)]
mod split_tests {
    use super::*;

    fn any_prefix(p: &str) -> Option<Prefix<'_>> {
        let (comm, pid) = dash_task(p.trim_end())?;
        Some(Prefix {
            comm,
            pid: Some(pid),
            tgid: None,
            cpu: 0,
        })
    }

    #[test]
    fn a_comm_with_timestamp_like_text_is_passed_over() {
        let h = split("  a 1: b-12 5.000001: ev: x=1", any_prefix).unwrap();
        assert_eq!(
            (h.prefix.comm, h.prefix.pid, h.ts_ns),
            ("a 1: b", Some(12), 5_000_001_000)
        );
        assert_eq!((h.event, h.fields), ("ev", "x=1"));
    }

    #[test]
    fn at_most_max_candidates_timestamps_are_tried() {
        let mut line = "x".to_owned();
        for _ in 0..MAX_CANDIDATES {
            line.push_str(" 1:");
        }
        line.push_str(" c-1 2.5: ev: f");
        assert!(split(&line, any_prefix).is_none());
        let short = line.replacen(" 1:", "", 2);
        assert!(split(&short, any_prefix).is_some());
    }
}
