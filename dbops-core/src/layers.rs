//! The library's layering, checked: no import circle between the top-level modules of this crate
//! (a module refers to another by `crate::name`, directly or in a `use crate::{...}` list). Storage
//! knows objects, the catalog knows backups, backups and restores sit above both, and so on up; a new
//! reference that closes a circle fails this test, naming the modules. And types that can grow: every
//! public options, report, settings, policy and limits struct is `#[non_exhaustive]`, and no public
//! field exists only under a feature (a struct literal would build or not depending on the features
//! another crate turns on).

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    /// The `.rs` files of each top-level module of `src`.
    fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(src).unwrap().flatten() {
            let path = entry.path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if name == "lib" {
                continue;
            }
            let files = if path.is_dir() {
                let mut files = Vec::new();
                let mut stack = vec![path];
                while let Some(dir) = stack.pop() {
                    for entry in std::fs::read_dir(dir).unwrap().flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if path.extension().is_some_and(|e| e == "rs") {
                            files.push(path);
                        }
                    }
                }
                files
            } else {
                vec![path]
            };
            out.insert(name, files);
        }
        out
    }

    /// The top-level modules `text` refers to by `crate::name` (test modules left out).
    fn referenced(text: &str, known: &BTreeMap<String, Vec<PathBuf>>) -> BTreeSet<String> {
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
        let mut out = BTreeSet::new();
        for (at, _) in text.match_indices("crate::") {
            let name: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            out.insert(name);
        }
        for (at, _) in text.match_indices("use crate::{") {
            let list = &text[at..text[at..].find("};").map_or(text.len(), |end| at + end)];
            for word in list.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
                if let Some((name, _)) = word.split_once("::") {
                    out.insert(name.to_string());
                }
            }
        }
        out.retain(|name| known.contains_key(name));
        out
    }

    #[test]
    fn no_import_circle_between_top_level_modules() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let modules = modules(&src);
        let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (name, files) in &modules {
            let mut refs = BTreeSet::new();
            for file in files {
                refs.extend(referenced(
                    &std::fs::read_to_string(file).unwrap(),
                    &modules,
                ));
            }
            refs.remove(name);
            edges.insert(name, refs);
        }
        let reaches = |from: &str, to: &str| {
            let (mut seen, mut stack) = (BTreeSet::new(), vec![from.to_string()]);
            while let Some(at) = stack.pop() {
                if at == to {
                    return true;
                }
                if seen.insert(at.clone()) {
                    stack.extend(edges[at.as_str()].iter().cloned());
                }
            }
            false
        };
        let circles: BTreeSet<(String, String)> = edges
            .iter()
            .flat_map(|(from, tos)| tos.iter().map(move |to| (from.to_string(), to.clone())))
            .filter(|(from, to)| reaches(to, from))
            .map(|(a, b)| if a < b { (a, b) } else { (b, a) })
            .collect();
        assert!(
            circles.is_empty(),
            "import circles between top-level modules (each pair reaches the other): {circles:?}"
        );
    }

    /// The public structs of `text` that could not grow without breaking their users: `(name, why)`.
    fn rigid_structs(text: &str) -> Vec<(String, &'static str)> {
        const GROWING: &[&str] = &["Options", "Report", "Settings", "Policy", "Limits"];
        let mut out = Vec::new();
        for (at, _) in text.match_indices("\npub struct ") {
            let name: String = text[at + 12..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let attributes = text[..at].rsplit("\n\n").next().unwrap_or("");
            if GROWING.iter().any(|suffix| name.ends_with(suffix))
                && !attributes.contains("#[non_exhaustive]")
            {
                out.push((name.clone(), "not #[non_exhaustive]"));
            }
            let body = &text[at..text[at..].find("\n}").map_or(text.len(), |end| at + end)];
            let lines: Vec<&str> = body.lines().map(str::trim).collect();
            if lines.windows(2).any(|pair| {
                pair[0].starts_with("#[cfg(")
                    && pair[0].contains("feature")
                    && pair[1].starts_with("pub ")
            }) {
                out.push((name, "a public field exists only under a feature"));
            }
        }
        out
    }

    #[test]
    fn public_options_and_reports_can_grow() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let rigid: Vec<_> = modules(&src)
            .values()
            .flatten()
            .flat_map(|file| {
                let text = std::fs::read_to_string(file).unwrap();
                let text = text
                    .split("#[cfg(test)]\nmod tests")
                    .next()
                    .unwrap_or("")
                    .to_string();
                rigid_structs(&text)
                    .into_iter()
                    .map(|(name, why)| format!("{}: {name} {why}", file.display()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(
            rigid.is_empty(),
            "structs that break their users when they grow: {rigid:#?}"
        );
    }

    #[test]
    fn the_growth_check_sees_rigid_structs() {
        let text = "\n/// Doc.\n#[derive(Debug)]\npub struct CopyOptions {\n    pub a: u8,\n}\n\n\
                    #[non_exhaustive]\npub struct FineReport {\n    #[cfg(feature = \"x\")]\n    pub b: u8,\n}\n";
        assert_eq!(
            rigid_structs(text),
            vec![
                ("CopyOptions".to_string(), "not #[non_exhaustive]"),
                (
                    "FineReport".to_string(),
                    "a public field exists only under a feature"
                ),
            ]
        );
    }

    #[test]
    fn the_check_sees_a_circle() {
        let known: BTreeMap<String, Vec<PathBuf>> = [
            ("storage".to_string(), Vec::new()),
            ("backup".into(), Vec::new()),
        ]
        .into();
        let refs = referenced(
            "use crate::{backup::Catalog, error::Error};\nfn f() { crate::storage::x(); }",
            &known,
        );
        assert_eq!(
            refs,
            BTreeSet::from(["backup".to_string(), "storage".to_string()])
        );
    }
}
