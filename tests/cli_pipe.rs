//! Output into a pipe that its reader closes early (`lazymm scenario --all | head -1`): the
//! CLI stops as a program killed by SIGPIPE would, with no panic report.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn closed_stdout_pipe_exits_141_without_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lazymm"))
        .args(["scenario", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with("scenario"), "{first}");
    // The table is ~120 KB, more than a pipe holds (64 KiB on Linux): the child is still
    // writing when the read end closes.
    drop(out);
    let done = child.wait_with_output().expect("waits");
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(done.status.code(), Some(141), "{err}");
}
