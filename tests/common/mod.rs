//! What the command-line tests share: running the built `lazymm` binary.

/// Runs `lazymm` with `args` and returns its output (status, stdout, stderr).
pub fn lazymm(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lazymm"))
        .args(args)
        .output()
        .expect("runs")
}
