//! The repository stands alone: every file a clone holds (but this one) is read, and the test
//! fails naming `file:line` for
//!
//! - a mention of the original specification files (the upper-case words of their names, with or
//!   without `.md`) or a section sign, which pointed at documents outside the repository;
//! - a relative path with `..` that leads to nothing in the repository, whether read from the
//!   file's own directory or from one of its parents (a manifest's or the root);
//! - a `docs/<page>.md` that does not exist, or a `docs/<page>.md#<anchor>` whose anchor is not a
//!   heading of that page, by GitHub's rules (lowercase, spaces to `-`, other punctuation dropped);
//! - in a Markdown file (the README, `docs/`), a relative link `[text](target)` to nothing in the
//!   repository, or to a heading its page lacks (`(#anchor)`, `(page.md#anchor)`), and a file
//!   path (`.rs`, `.md`, `.py`, `.sh`, `.mjs`, `.toml`, `.yaml`, `.json`) under one of the
//!   repository's top-level folders, e.g. `events/<name>.json`, naming no file;
//! - a "stage N" outside the numbered stages of `docs/api.md#stages`.
//!
//! The files are those `git ls-files` lists (tracked, plus new files not ignored); without git,
//! the tree minus build output and local tool directories. `DOCS_CHECK_ROOT` checks another
//! checkout (e.g. an older commit in a `git worktree`) instead of this one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use regex_lite::Regex;

/// This file names what it forbids and holds broken links for its own tests, so it is the one
/// file the checks skip.
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
    let md_link = Regex::new(r"\]\(([^()\s]*)\)").unwrap();
    let repo_path =
        Regex::new(r"(^|[^A-Za-z0-9_.\-/])((?:[A-Za-z0-9_\-][A-Za-z0-9_.\-]*/)+[A-Za-z0-9_.\-]+\.(?:rs|md|py|sh|mjs|toml|yaml|json))\b")
            .unwrap();
    let stage = Regex::new(r"(?i)\bstages? (\d+)(?:\s*(?:–|-|and|to)\s*(\d+))?").unwrap();

    let read = |path: &str| std::fs::read_to_string(root.join(path)).ok();
    let api = read("docs/api.md").unwrap_or_default();
    let stages = stage_numbers(&api);
    // The folders at the top of the repository: a path under one of them is a repository path.
    let top_folders: BTreeSet<&str> = files.iter().filter_map(|f| f.split_once('/')).map(|(top, _)| top).collect();
    let mut pages: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    let mut page_anchors =
        |page: &str| pages.entry(page.to_string()).or_insert_with(|| read(page).map(|t| anchors(&t))).clone();

    let mut out = Vec::new();
    if stages.is_empty() || stages.iter().copied().ne(1..=stages.len() as u32) {
        out.push(format!("docs/api.md: the Stages section must number its stages 1, 2, ... (found {stages:?})"));
    }
    for file in files.iter().filter(|f| *f != THIS_FILE) {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else { continue };
        let dir = Path::new(file).parent().unwrap_or(Path::new("")).to_path_buf();
        let markdown = file.ends_with(".md");
        let mut in_code = false;
        for (i, line) in text.lines().enumerate() {
            let at = format!("{file}:{}", i + 1);
            if let Some(m) = forbidden.find(line) {
                out.push(format!(
                    "{at}: '{}' refers to a document outside the repository: cite docs/ instead",
                    m.as_str()
                ));
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
                let page = format!("docs/{}", &c[1]);
                check_anchor(&at, &page, c.get(2).map(|m| m.as_str()), &mut page_anchors, &mut out);
            }
            if markdown {
                if line.trim_start().starts_with("```") {
                    in_code = !in_code;
                }
                // A link in a code block is code, not a link (`$(printf ...)`). Each broken
                // reference is reported once: `docs/<page>.md` by the check above, a link's target
                // by the link check, other paths by the path check.
                let mut text = line.to_string();
                if !in_code {
                    for c in md_link.captures_iter(line).filter(|c| !cited.is_match(&c[1])) {
                        check_link(root, &at, file, &c[1], &mut page_anchors, &mut out);
                    }
                    text = md_link.replace_all(line, "]").into_owned();
                }
                for c in repo_path.captures_iter(&text).filter(|c| !cited.is_match(&c[2])) {
                    let path = &c[2];
                    let top = path.split('/').next().unwrap_or_default();
                    if top_folders.contains(top) && !root.join(path).is_file() {
                        out.push(format!("{at}: '{path}' is no file of the repository"));
                    }
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

/// `page` (repository-relative) exists and, when an anchor is given, has that heading.
fn check_anchor(
    at: &str,
    page: &str,
    anchor: Option<&str>,
    page_anchors: &mut impl FnMut(&str) -> Option<BTreeSet<String>>,
    out: &mut Vec<String>,
) {
    match (page_anchors(page), anchor) {
        (None, _) => out.push(format!("{at}: {page} does not exist")),
        (Some(known), Some(a)) if !known.contains(a) => {
            out.push(format!("{at}: {page}#{a} is not a heading of {page}"));
        }
        _ => {}
    }
}

/// A Markdown link of `file` (repository-relative): a URL is left alone; a relative target must
/// be a file or folder of the repository, read from `file`'s folder, and an anchor into a
/// Markdown page (`#anchor` alone: `file` itself) one of its headings.
fn check_link(
    root: &Path,
    at: &str,
    file: &str,
    target: &str,
    page_anchors: &mut impl FnMut(&str) -> Option<BTreeSet<String>>,
    out: &mut Vec<String>,
) {
    if target.contains("://") || target.starts_with("mailto:") {
        return;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let resolved = if path.is_empty() { Some(PathBuf::from(file)) } else { normalise(&dir.join(path)) };
    // A target above the root is the `..` check's to report.
    let Some(resolved) = resolved.map(|p| p.to_string_lossy().replace('\\', "/")) else { return };
    if resolved.ends_with(".md") {
        check_anchor(at, &resolved, anchor, page_anchors, out);
    } else if !root.join(&resolved).exists() {
        out.push(format!("{at}: the link '{target}' leads to nothing in the repository"));
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

/// A checkout of a few files, in a fresh folder outside any git repository.
fn scratch_checkout(files: &[(&str, &str)]) -> PathBuf {
    let root =
        std::env::temp_dir().join(format!("docs-check-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&root);
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    root.canonicalize().unwrap()
}

#[test]
fn markdown_links_and_repository_paths_lead_to_files_and_headings_that_exist() {
    let readme = "# Title\n\
        [ok](docs/api.md) [ok](docs/api.md#stages) [ok](#title) [ok](shared/app/src/lib.rs) [web](https://x.example/a.md)\n\
        [gone](docs/gone.md) [no heading](docs/api.md#nowhere) [no file](shared/src/gone.rs) [here](#nowhere)\n\
        `shared/app/src/lib.rs` `shared/src/moved.rs` `functions/<route>/src/main.rs` `target/debug/x.rs`\n\
        ```sh\n\
        echo \"$(printf '%s' x](y))\" shared/src/in_code.rs\n\
        ```\n";
    let api =
        "# API\n## Stages\n| 1 | a |\n[back](../README.md#title) [back](../README.md#nowhere) [out](../../x.md)\n";
    let root = scratch_checkout(&[("README.md", readme), ("docs/api.md", api), ("shared/app/src/lib.rs", "")]);
    let found = problems(&root);
    std::fs::remove_dir_all(&root).unwrap();
    let expected = [
        "README.md:3: docs/gone.md does not exist",
        "README.md:3: docs/api.md#nowhere is not a heading of docs/api.md",
        "README.md:3: the link 'shared/src/gone.rs' leads to nothing in the repository",
        "README.md:3: README.md#nowhere is not a heading of README.md",
        "README.md:4: 'shared/src/moved.rs' is no file of the repository",
        "README.md:6: 'shared/src/in_code.rs' is no file of the repository",
        "docs/api.md:4: '../../x.md' leads outside the repository or to nothing in it",
        "docs/api.md:4: README.md#nowhere is not a heading of README.md",
    ];
    assert_eq!(found, expected, "{found:#?}");
}
