//! Samples to a [`Measurement`], and how many samples each mode takes.

use crate::{CalibrateError, Measurement};

/// How much to measure: `quick` (tests) or full.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// Samples kept per benchmark.
    pub samples: usize,
    /// Samples run first and thrown away (caches, frequency, page faults).
    pub warmup: usize,
    /// Divisor on per-sample iteration counts.
    pub shrink: usize,
}

impl Plan {
    pub(crate) fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                samples: 21,
                warmup: 2,
                shrink: 5,
            }
        } else {
            Plan {
                samples: 301,
                warmup: 20,
                shrink: 1,
            }
        }
    }

    /// Iterations per sample: `full` in a full run, fewer (at least 1) when quick.
    pub(crate) fn iters(&self, full: usize) -> usize {
        (full / self.shrink).max(1)
    }

    /// Samples run in all, warm-up included.
    pub(crate) fn total(&self) -> usize {
        self.samples + self.warmup
    }
}

/// The value at quantile `q` (nearest rank) of ascending `sorted`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Median, p10 and p90 of `samples` (ns each) after dropping the first `warmup`.
pub(crate) fn summarize(
    name: &'static str,
    samples: &[f64],
    warmup: usize,
    method: String,
) -> Result<Measurement, CalibrateError> {
    let mut kept: Vec<f64> = samples
        .iter()
        .skip(warmup)
        .copied()
        .filter(|s| s.is_finite())
        .collect();
    if kept.is_empty() {
        return Err(CalibrateError::NoSamples(name));
    }
    kept.sort_by(f64::total_cmp);
    Ok(Measurement {
        name,
        value_ns: quantile(&kept, 0.5),
        p10_ns: quantile(&kept, 0.1),
        p90_ns: quantile(&kept, 0.9),
        samples: kept.len(),
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_ordered_and_skip_warmup() {
        let s = [1000.0, 5.0, 1.0, 3.0, 2.0, 4.0, f64::NAN];
        let m = summarize("t", &s, 1, "m".into()).unwrap();
        assert_eq!(m.samples, 5);
        assert_eq!((m.p10_ns, m.value_ns, m.p90_ns), (1.0, 3.0, 5.0));
        assert!(summarize("t", &[1.0], 1, String::new()).is_err());
    }
}
