//! Where a failing test says to make a change: `file:line` of an anchor text in the repository.

use std::path::Path;

use crate::repo::repo_root;

/// `path:N`: N is the first line of the repository file `path` that holds `anchor`.
pub fn line_of(path: &str, anchor: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let n = text.lines().position(|line| line.contains(anchor));
    let n = n.unwrap_or_else(|| panic!("{path}: no line holds {anchor:?} (the test's anchor moved)"));
    format!("{path}:{}", n + 1)
}

/// `path:N` of the one Rust file of the repository that holds `anchor`, wherever it lives
/// (crates move).
pub fn rust_line_of(anchor: &str) -> String {
    let mut found = Vec::new();
    rust_files(&repo_root(), &mut found);
    let root = repo_root();
    let holders: Vec<String> = found
        .iter()
        .filter(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains(anchor)))
        .map(|f| f.strip_prefix(&root).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(holders.len(), 1, "one Rust file holds {anchor:?}: {holders:?}");
    line_of(&holders[0], anchor)
}

/// The repository's Rust files, without build output, tool directories and test code.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && !["target", "node_modules", "tests", "fuzz"].contains(&name.as_str()) {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}
