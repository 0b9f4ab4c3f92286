//! Running the traced command, or waiting, until it ends or a signal comes.

use super::text::quote;
use super::Until;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether a signal came. Relaxed: `signal_hook::flag::register`'s handler stores `true`
/// (its store is the pair); the flag carries no data, so seeing it one tick late is all a
/// weaker order could cost.
fn interrupted(interrupt: &AtomicBool) -> bool {
    interrupt.load(Ordering::Relaxed)
}

/// Run the command or wait; the command's status and whether a signal came.
pub fn wait(until: &Until, interrupt: &AtomicBool) -> Result<(Option<ExitStatus>, bool), String> {
    let tick = Duration::from_millis(10);
    match until {
        Until::Command(argv) => {
            let mut child = Command::new(&argv[0])
                .args(&argv[1..])
                .spawn()
                .map_err(|e| format!("running `{}`: {e}", quote(argv)))?;
            let mut signalled: Option<Instant> = None;
            loop {
                match child.try_wait() {
                    Ok(Some(s)) => return Ok((Some(s), interrupted(interrupt))),
                    Ok(None) => {}
                    Err(e) => return Err(format!("waiting for `{}`: {e}", quote(argv))),
                }
                if interrupted(interrupt) {
                    // Ctrl-C reaches the command too; give it 2 s to exit, then kill it.
                    let t = *signalled.get_or_insert_with(Instant::now);
                    if t.elapsed() > Duration::from_secs(2) {
                        let _ = child.kill();
                    }
                }
                std::thread::sleep(tick);
            }
        }
        Until::Seconds(d) => {
            let start = Instant::now();
            while start.elapsed() < *d {
                if interrupted(interrupt) {
                    return Ok((None, true));
                }
                std::thread::sleep(tick.min(d.saturating_sub(start.elapsed())));
            }
            Ok((None, false))
        }
        Until::Interrupt => {
            eprintln!("recording; Ctrl-C to stop");
            while !interrupted(interrupt) {
                std::thread::sleep(tick);
            }
            Ok((None, true))
        }
    }
}
