//! The repository stands alone: every file a clone holds is read, and the test fails naming
//! `file:line` for
//!
//! - a mention of the original specification files (the upper-case words of their names, with or
//!   without `.md`) or a section sign, which pointed at documents outside the repository;
//! - a relative path with `..` that leads to nothing in the repository, whether read from the
//!   file's own directory or from one of its parents (a manifest's or the root);
//! - a `docs/<page>.md` that does not exist, or a `docs/<page>.md#<anchor>` (or, inside `docs/`,
//!   a Markdown link `(#anchor)` / `(<page>.md#anchor)`) whose anchor is not a heading of that
//!   page, by GitHub's rules (lowercase, spaces to `-`, other punctuation dropped);
//! - a "stage N" outside the numbered stages of `docs/api.md#stages`.
//!
//! The files are those `git ls-files` lists (tracked, plus new files not ignored); without git,
//! the tree minus build output and local tool directories. `DOCS_CHECK_ROOT` checks another
//! checkout (e.g. an older commit in a `git worktree`) instead of this one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use regex_lite::Regex;

/// This file names what it forbids, so it is the one file the forbidden-words rule skips.
const THIS_FILE: &str = "tools/planocore/tests/it/docs.rs";

fn root() -> PathBuf {
    match std::env::var_os("DOCS_CHECK_ROOT") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
    .canonicalize()
    .expect("the repository root exists")
}

/// Repository-relative paths of the files a clone holds.
fn files(root: &Path) -> Vec<String> {
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|out| out.status.success());
    let mut files: Vec<String> = match listed {
        Some(out) => {
            String::from_utf8_lossy(&out.stdout).split('\0').filter(|f| !f.is_empty()).map(str::to_string).collect()
        }
        None => {
            let mut found = Vec::new();
            walk(root, root, &mut found);
            found
        }
    };
    // A file deleted in the work tree but still in the index is not there to read.
    files.retain(|f| root.join(f).is_file());
    files.sort();
    files
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    const SKIP: &[&str] = &["target", ".git", "node_modules", ".dynamodb-local", ".aws-sam", "corpus", "artifacts"];
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if !SKIP.contains(&name.as_str()) && !name.starts_with(".venv") {
                walk(root, &path, out);
            }
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// `path` with `.` and `..` resolved without touching the file system; `None` above the root.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// GitHub's anchor for a heading: lowercase, spaces to `-`, punctuation but `-` and `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor of a Markdown page (headings outside code blocks; repeats get `-1`, `-2`, ...).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if in_code || hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = anchor(&line[hashes..]);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
        *n += 1;
    }
    out
}

/// The stage numbers of `docs/api.md#stages`: the first cell of each table row of that section.
fn stage_numbers(api: &str) -> BTreeSet<u32> {
    let row = Regex::new(r"^\|\s*(\d+)\s*\|").unwrap();
    api.lines()
        .skip_while(|l| l.trim() != "## Stages")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| row.captures(l).and_then(|c| c[1].parse().ok()))
        .collect()
}

/// Every problem in the checkout at `root`, as `file:line: what`.
fn problems(root: &Path) -> Vec<String> {
    let files = files(root);
    let forbidden = Regex::new(r"\bCONTRACT\b|\bDESIGN\b|§").unwrap();
    let relative = Regex::new(r"(^|[^A-Za-z0-9_.\-/])((?:\.\./)+[A-Za-z0-9_.\-/]*)").unwrap();
    let cited = Regex::new(r"docs/([A-Za-z0-9_\-]+\.md)(?:#([A-Za-z0-9_\-]+))?").unwrap();
    let md_link = Regex::new(r"\]\(([A-Za-z0-9_\-]*\.md)?#([A-Za-z0-9_\-]+)\)").unwrap();
    let stage = Regex::new(r"(?i)\bstages? (\d+)(?:\s*(?:–|-|and|to)\s*(\d+))?").unwrap();

    let read = |page: &str| std::fs::read_to_string(root.join("docs").join(page)).ok();
    let api = read("api.md").unwrap_or_default();
    let stages = stage_numbers(&api);
    let mut pages: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    let mut page_anchors =
        |page: &str| pages.entry(page.to_string()).or_insert_with(|| read(page).map(|t| anchors(&t))).clone();

    let mut out = Vec::new();
    if stages.is_empty() || stages.iter().copied().ne(1..=stages.len() as u32) {
        out.push(format!("docs/api.md: the Stages section must number its stages 1, 2, ... (found {stages:?})"));
    }
    for file in &files {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else { continue };
        let dir = Path::new(file).parent().unwrap_or(Path::new("")).to_path_buf();
        let in_docs = file.starts_with("docs/") && file.ends_with(".md");
        for (i, line) in text.lines().enumerate() {
            let at = format!("{file}:{}", i + 1);
            if file != THIS_FILE {
                if let Some(m) = forbidden.find(line) {
                    out.push(format!(
                        "{at}: '{}' refers to a document outside the repository: cite docs/ instead",
                        m.as_str()
                    ));
                }
            }
            for c in relative.captures_iter(line) {
                // A sentence may end right after the path: drop a final `/` or full stop.
                let target = c[2].trim_end_matches('/');
                let target =
                    if target.ends_with('.') && !target.ends_with("..") { &target[..target.len() - 1] } else { target };
                // From the file's directory, or from one of its parents (a manifest's, the root).
                let found = dir.ancestors().any(|base| {
                    normalise(&base.join(target)).is_some_and(|p| p.as_os_str().is_empty() || root.join(p).exists())
                });
                if !found {
                    out.push(format!("{at}: '{target}' leads outside the repository or to nothing in it"));
                }
            }
            for c in cited.captures_iter(line) {
                check_anchor(&at, &c[1], c.get(2).map(|m| m.as_str()), &mut page_anchors, &mut out);
            }
            if in_docs {
                for c in md_link.captures_iter(line) {
                    let page = c
                        .get(1)
                        .map_or_else(|| file.trim_start_matches("docs/").to_string(), |m| m.as_str().to_string());
                    check_anchor(&at, &page, Some(&c[2]), &mut page_anchors, &mut out);
                }
            }
            // Without a numbered list there is nothing to compare with; that is reported once above.
            for c in stage.captures_iter(line).filter(|_| !stages.is_empty()) {
                for n in [c.get(1), c.get(2)].into_iter().flatten() {
                    let n: u32 = n.as_str().parse().unwrap_or(0);
                    if !stages.contains(&n) {
                        out.push(format!("{at}: stage {n} is not one of docs/api.md#stages (1 to {})", stages.len()));
                    }
                }
            }
        }
    }
    out
}

fn check_anchor(
    at: &str,
    page: &str,
    anchor: Option<&str>,
    page_anchors: &mut impl FnMut(&str) -> Option<BTreeSet<String>>,
    out: &mut Vec<String>,
) {
    match (page_anchors(page), anchor) {
        (None, _) => out.push(format!("{at}: docs/{page} does not exist")),
        (Some(known), Some(a)) if !known.contains(a) => {
            out.push(format!("{at}: docs/{page}#{a} is not a heading of docs/{page}"));
        }
        _ => {}
    }
}

#[test]
fn the_repository_cites_only_itself_and_every_cited_docs_section_exists() {
    let root = root();
    let problems = problems(&root);
    assert!(problems.is_empty(), "{} problem(s) in {}:\n{}", problems.len(), root.display(), problems.join("\n"));
}

#[test]
fn anchors_follow_githubs_rules() {
    assert_eq!(anchor(" Session and application views"), "session-and-application-views");
    assert_eq!(anchor("Clients Update params"), "clients-update-params");
    assert_eq!(anchor("`planocore` — the local CLI (v2.0)"), "planocore--the-local-cli-v20");
    assert_eq!(anchor("snake_case stays"), "snake_case-stays");
    let page = "# Title\n## Routes\n```\n## not a heading\n```\n## Routes\n#no-space\n";
    let expected: BTreeSet<String> = ["title", "routes", "routes-1"].map(String::from).into();
    assert_eq!(anchors(page), expected);
}

#[test]
fn the_stages_table_numbers_every_stage() {
    let api = "## Stages\n\n| stage | check |\n|---|---|\n| 1 | a |\n|   | more of 1 |\n| 2 | b |\n\n## Next\n| 9 | not a stage |\n";
    assert_eq!(stage_numbers(api), BTreeSet::from([1, 2]));
}
