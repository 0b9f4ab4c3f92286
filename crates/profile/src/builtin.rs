//! The published-machine profiles, embedded from `profiles/*.toml`, and [`find`].
//!
//! `profiles/this-machine.toml` (written by calibration) is not embedded: [`find`] reads it
//! from `profiles/` relative to the current directory.

use crate::error::{ErrorKind, ProfileError};
use crate::schema::Profile;
use std::path::Path;

/// The embedded profiles: (name, TOML text). Each name is its file's stem.
pub const BUILTIN: [(&str, &str); 8] = [
    (
        "intel-icx-2s",
        include_str!("../../../profiles/intel-icx-2s.toml"),
    ),
    (
        "amd-genoa-2s",
        include_str!("../../../profiles/amd-genoa-2s.toml"),
    ),
    (
        "amd-genoa-2s-invlpgb",
        include_str!("../../../profiles/amd-genoa-2s-invlpgb.toml"),
    ),
    (
        "power9-2s-radix",
        include_str!("../../../profiles/power9-2s-radix.toml"),
    ),
    (
        "power9-2s-hash",
        include_str!("../../../profiles/power9-2s-hash.toml"),
    ),
    (
        "power8-16s",
        include_str!("../../../profiles/power8-16s.toml"),
    ),
    ("altra-1s", include_str!("../../../profiles/altra-1s.toml")),
    ("altra-2s", include_str!("../../../profiles/altra-2s.toml")),
];

/// The names of the embedded profiles.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// The embedded profiles, parsed (a unit test guarantees they parse).
pub fn builtin() -> Result<Vec<Profile>, ProfileError> {
    BUILTIN
        .iter()
        .map(|(name, text)| Profile::parse(text, &format!("profiles/{name}.toml")))
        .collect()
}

/// A profile by name: `name` as a path to a file if there is one; else
/// `profiles/<name>.toml` relative to the current directory if it exists (this is how
/// `this-machine` is found); else the embedded profile of that name; else an error listing
/// the known names.
pub fn find(name: &str) -> Result<Profile, ProfileError> {
    let path = Path::new(name);
    if path.is_file() {
        return Profile::load(path);
    }
    let local = Path::new("profiles").join(format!("{name}.toml"));
    if !name.contains(['/', '\\']) && local.is_file() {
        return Profile::load(&local);
    }
    if let Some((n, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
        return Profile::parse(text, &format!("profiles/{n}.toml"));
    }
    let mut known = builtin_names().join(", ");
    if Path::new("profiles/this-machine.toml").is_file() {
        known.push_str(", this-machine");
    }
    Err(ProfileError::new(
        name,
        ErrorKind::NotFound,
        "",
        format!("no such profile file, and no builtin of that name; known: {known}"),
    ))
}

/// A Markdown table of every estimated parameter of `profiles`: profile, parameter, value,
/// and the estimate's reasoning (`profiles/README.md` carries it for the builtins).
pub fn estimates_table(profiles: &[Profile]) -> String {
    let mut out = String::from("| profile | parameter | value | why |\n|---|---|---|---|\n");
    for p in profiles {
        for (table, key, param) in p.params() {
            if let Some(why) = &param.estimate {
                out.push_str(&format!(
                    "| {} | {table}.{key} | {} | {} |\n",
                    p.name,
                    param.value,
                    why.replace('|', "\\|")
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_is_named_after_its_file() {
        let profiles = builtin().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(profiles.len(), BUILTIN.len());
        for (p, (name, _)) in profiles.iter().zip(BUILTIN) {
            assert_eq!(p.name, name);
            assert!(p.cpus() >= 1);
        }
    }

    #[test]
    fn find_returns_builtins_and_lists_known_names() {
        assert_eq!(find("intel-icx-2s").unwrap().cpus(), 128);
        let e = find("no-such-machine").unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(e.to_string().contains("amd-genoa-2s-invlpgb"), "{e}");
    }

    #[test]
    fn find_loads_a_path() {
        let dir = std::env::temp_dir().join(format!("lazymm-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("m.toml");
        let mut p = find("altra-1s").unwrap();
        p.name = "from-a-file".into();
        std::fs::write(&file, p.to_toml()).unwrap();
        let got = find(file.to_str().unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got.unwrap(), p);
    }

    /// The repository hook's rule: in every profile TOML, one `source =` or `estimate =` per
    /// `value =`.
    #[test]
    fn every_value_has_one_provenance_key_in_the_text() {
        for (name, text) in BUILTIN {
            let values = text.matches("value =").count();
            let prov = text.matches("source =").count() + text.matches("estimate =").count();
            assert_eq!(values, prov, "{name}");
            assert_eq!(values, 31, "{name}");
        }
    }

    #[test]
    fn readme_lists_every_estimate() {
        let readme = include_str!("../../../profiles/README.md");
        let table = estimates_table(&builtin().unwrap());
        assert!(
            readme.contains(&table),
            "profiles/README.md is out of date; regenerate its table with \
             `cargo run -p lazymm-profile --example estimates`"
        );
    }
}
