//! The library's layering, checked: no import circle between the top-level modules of this crate
//! (a module refers to another by `crate::name`, directly or in a `use crate::{...}` list). Storage
//! knows objects, the catalog knows backups, backups and restores sit above both, and so on up; a new
//! reference that closes a circle fails this test, naming the modules.

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
