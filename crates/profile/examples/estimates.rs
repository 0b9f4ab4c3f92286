//! Prints the Markdown table of every estimated parameter of the builtin profiles, as
//! `profiles/README.md` carries it (a test checks the README against the profiles).
//!
//! `cargo run -p lazymm-profile --example estimates`

fn main() {
    match lazymm_profile::builtin() {
        Ok(profiles) => print!("{}", lazymm_profile::estimates_table(&profiles)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
