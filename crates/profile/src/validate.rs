//! The checks serde cannot express: provenance, ranges, integer counts, flags and arch.

use crate::error::ErrorKind;
use crate::schema::{Param, Profile};

/// The arches a profile may name.
pub const ARCHES: [&str; 4] = ["x86", "arm64", "ppc-radix", "ppc-hash"];

/// The largest topology count accepted.
pub const MAX_COUNT: f64 = 65_536.0;

/// The most CPUs a machine may have.
pub const MAX_CPUS: f64 = 1_048_576.0;

/// A validation failure: kind, dotted field, message.
pub(crate) type Failure = (ErrorKind, String, String);

/// Parameters that must be 0 or 1.
const FLAGS: [(&str, &str); 4] = [
    ("coherence", "home_aware"),
    ("tlb", "asid"),
    ("tlb", "invlpgb"),
    ("idle", "polling"),
];

/// The first problem with `p`, if any, in file order.
pub(crate) fn validate(p: &Profile) -> Result<(), Failure> {
    if p.name.trim().is_empty() {
        return Err(fail(ErrorKind::BadName, "name", "must not be empty".into()));
    }
    if !ARCHES.contains(&p.arch.as_str()) {
        return Err(fail(
            ErrorKind::BadName,
            "arch",
            format!(
                "unknown arch {:?}; expected one of {}",
                p.arch,
                ARCHES.join(", ")
            ),
        ));
    }
    let mut cpus = 1.0f64;
    for (table, key, param) in p.params() {
        let path = format!("{table}.{key}");
        provenance(&path, param)?;
        let v = param.get();
        if !v.is_finite() || v < 0.0 {
            return Err(fail(
                ErrorKind::BadValue,
                &format!("{path}.value"),
                format!("{v} is not a finite value >= 0"),
            ));
        }
        if table == "topology" {
            if v.fract() != 0.0 || !(1.0..=MAX_COUNT).contains(&v) {
                return Err(fail(
                    ErrorKind::BadCount,
                    &format!("{path}.value"),
                    format!("{v} is not a whole number from 1 to {MAX_COUNT}"),
                ));
            }
            cpus *= v;
            if cpus > MAX_CPUS {
                return Err(fail(
                    ErrorKind::BadCount,
                    &format!("{path}.value"),
                    format!("the topology has more than {MAX_CPUS} CPUs"),
                ));
            }
        }
        if FLAGS.contains(&(table, key)) && v != 0.0 && v != 1.0 {
            return Err(fail(
                ErrorKind::BadFlag,
                &format!("{path}.value"),
                format!("{v} is not a flag (0 or 1)"),
            ));
        }
    }
    if p.tlb.invlpgb.get() == 1.0 && p.arch != "x86" {
        return Err(fail(
            ErrorKind::BadFlag,
            "tlb.invlpgb.value",
            format!("INVLPGB is an x86 (AMD) instruction; arch is {:?}", p.arch),
        ));
    }
    Ok(())
}

fn fail(kind: ErrorKind, field: &str, message: String) -> Failure {
    (kind, field.to_string(), message)
}

/// Exactly one of `source` / `estimate`, and not blank.
fn provenance(path: &str, p: &Param) -> Result<(), Failure> {
    let fail_at =
        |sub: &str, msg: &str| fail(ErrorKind::Provenance, &format!("{path}{sub}"), msg.into());
    match (&p.source, &p.estimate) {
        (Some(_), Some(_)) => Err(fail_at(
            ".estimate",
            "has both source and estimate; give exactly one",
        )),
        (None, None) => Err(fail_at(
            "",
            "has neither source nor estimate; say where the value comes from",
        )),
        (Some(s), None) if s.trim().is_empty() => Err(fail_at(".source", "is empty")),
        (None, Some(e)) if e.trim().is_empty() => Err(fail_at(".estimate", "is empty")),
        _ => Ok(()),
    }
}
