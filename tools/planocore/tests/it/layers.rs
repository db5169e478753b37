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
