//! The texts `record` writes: the trace's header line, command lines quoted like a shell would
//! read them, and UTC dates (the start time in the header).

use super::{tracefs, Opts, Until};
use std::time::SystemTime;

/// Shell-style quoting of a command line for the header and messages.
pub fn quote(argv: &[String]) -> String {
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    };
    argv.iter()
        .map(|s| {
            if safe(s) {
                s.clone()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `# lazymm record: ...` header line.
pub fn header(o: &Opts, enabled: &[String]) -> String {
    let what = match &o.until {
        Until::Command(argv) => format!("command: {}", quote(argv)),
        Until::Seconds(d) => format!("seconds: {}", d.as_secs_f64()),
        Until::Interrupt => "until Ctrl-C".to_string(),
    };
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "# lazymm record: {what}; cpus: {}; kernel: {kernel}; clock: {}; buffer_size_kb: {}; \
         started: {}; events: {}\n",
        tracefs::online_cpus(),
        o.clock,
        o.buffer_kb,
        utc_now(),
        enabled.join(",")
    )
}

/// Now as `YYYY-MM-DDThh:mm:ssZ`.
fn utc_now() -> String {
    utc(SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

/// Unix time `secs` as `YYYY-MM-DDThh:mm:ssZ`.
pub fn utc(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
