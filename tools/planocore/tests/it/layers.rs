//! The layers of docs/architecture.md#crates hold: no import circle between the modules of any
//! library crate (`scripts/import-graph`), and each crate depends only on what its layer may.

use std::process::Command;

use test_support::repo_root;

#[test]
fn no_library_crate_has_an_import_circle() {
    let out = Command::new("python3")
        .arg(repo_root().join("scripts/import-graph"))
        .output()
        .expect("python3 runs scripts/import-graph");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scripts/import-graph found a circle:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for krate in ["shared/domain", "shared/store", "shared/app", "test-support"] {
        assert!(report.contains(&format!("{krate}: ")), "scripts/import-graph did not read {krate}:\n{report}");
    }
}

/// The `[dependencies]` names of a crate's Cargo.toml: `name.workspace = true` or `name = …`,
/// one per line, as every manifest here writes them.
fn dependencies(krate: &str) -> Vec<String> {
    let path = repo_root().join(krate).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let section = text.split("\n[").find(|s| s.starts_with("dependencies]")).unwrap_or("");
    section
        .lines()
        .skip(1)
        .filter(|line| !line.trim_start().starts_with('#') && line.contains('='))
        .map(|line| line.split(['=', '.']).next().unwrap_or("").trim().to_string())
        .collect()
}

#[test]
fn each_layer_depends_only_on_what_it_may() {
    // What each crate must never depend on (docs/architecture.md#crates).
    let rules: [(&str, &[&str]); 2] = [
        (
            "shared/domain",
            &[
                "store",
                "app",
                "tokio",
                "lambda_http",
                "lambda_runtime",
                "aws-config",
                "aws-sdk-dynamodb",
                "aws-sdk-secretsmanager",
                "hyper",
                "tracing-subscriber",
            ],
        ),
        ("shared/store", &["app", "lambda_http", "lambda_runtime", "aws-config", "aws-sdk-secretsmanager", "hyper"]),
    ];
    for (krate, forbidden) in rules {
        let deps = dependencies(krate);
        assert!(!deps.is_empty(), "{krate}/Cargo.toml: no [dependencies] read");
        let wrong: Vec<_> = deps.iter().filter(|d| forbidden.contains(&d.as_str())).collect();
        assert!(wrong.is_empty(), "{krate}/Cargo.toml depends on {wrong:?}, which its layer must not");
    }
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![repo_root().join(dir)];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                out.push((path.strip_prefix(repo_root()).unwrap_or(&path).display().to_string(), text));
            }
        }
    }
    out
}

#[test]
fn the_domain_does_no_io() {
    let io = ["std::fs", "std::net", "std::env", "std::process", "tokio", "File::", "TcpStream"];
    for (file, text) in sources("shared/domain/src") {
        for (n, line) in text.lines().enumerate() {
            if let Some(word) = io.iter().find(|w| line.contains(*w) && !line.trim_start().starts_with("//")) {
                panic!("{file}:{}: `{word}` in the domain, which does no IO: {line}", n + 1);
            }
        }
    }
}

#[test]
fn only_the_composition_root_reads_the_environment() {
    let readers = ["Settings::from_env", "std::env::var", "env::var("];
    for dir in ["shared/domain/src", "shared/store/src", "shared/app/src", "functions", "tools/planocore/src"] {
        for (file, text) in sources(dir) {
            if file.ends_with("shared/app/src/config.rs")
                || file.ends_with("shared/app/src/settings.rs")
                || file.contains("/tests/")
            {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                if let Some(word) = readers.iter().find(|w| line.contains(*w) && !line.trim_start().starts_with("//")) {
                    panic!("{file}:{}: `{word}`: only app::config::settings reads the environment: {line}", n + 1);
                }
            }
        }
    }
}
