//! The emulators the tests run against: DynamoDB Local (AWS's own DynamoDB emulator) for every
//! DynamoDB test, moto for Secrets Manager only (DynamoDB Local has none).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::wait;

/// Set by `scripts/test`, which installs and starts DynamoDB Local for the whole run.
pub const ENDPOINT_VAR: &str = "PLANOCORE_TEST_DYNAMODB_ENDPOINT";
/// Set by `scripts/test`, which starts moto's server for the whole run.
pub const SECRETSMANAGER_VAR: &str = "PLANOCORE_TEST_SECRETSMANAGER_ENDPOINT";

/// DynamoDB Local's URL: from `PLANOCORE_TEST_DYNAMODB_ENDPOINT`, else DynamoDB Local started
/// for this test process by `scripts/dynamodb-local` (which installs it, and Java, if needed).
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        from_env(ENDPOINT_VAR).unwrap_or_else(|| {
            let script = crate::repo::repo_root().join("scripts/dynamodb-local");
            launch("DynamoDB Local", &script, &[], Duration::from_secs(120))
        })
    })
}

/// moto's URL, for Secrets Manager: from `PLANOCORE_TEST_SECRETSMANAGER_ENDPOINT`, else moto's
/// own server started from the project's `.venv` for this test process.
pub fn secretsmanager_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        from_env(SECRETSMANAGER_VAR).unwrap_or_else(|| {
            let moto = crate::repo::repo_root().join(".venv/bin/moto_server");
            if !moto.exists() {
                panic!(
                    "The Secrets Manager tests need moto and found none.\n\
                     Run the tests with ./scripts/test (it installs moto into .venv and starts it), or\n\
                     set {SECRETSMANAGER_VAR}=http://127.0.0.1:PORT to a running moto_server."
                );
            }
            let url = launch("moto", &moto, &["-H", "127.0.0.1", "-p"], Duration::from_secs(30));
            load_secrets_manager(&url);
            url
        })
    })
}

/// moto loads a service's backend on its first request, which took over the tests' 7 s SDK
/// timeout on a loaded machine: one `ListSecrets` at start makes a test's first call a plain one
/// (`scripts/lib/test-services.sh` does the same for `./scripts/test`).
fn load_secrets_manager(url: &str) {
    let headers = [
        ("x-amz-target", "secretsmanager.ListSecrets"),
        ("authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/secretsmanager/aws4_request"),
    ];
    let address = url.trim_start_matches("http://");
    let reply = crate::http::http(address, "POST", "/", Some("application/x-amz-json-1.1"), &headers, b"{}");
    assert_eq!(reply.code, 200, "moto's Secrets Manager at {url} answered ListSecrets with {}", reply.body);
}

fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|url| url.trim().to_string()).filter(|url| !url.is_empty())
}

/// Starts `program ARGS.. PORT` on a free port and waits until it accepts connections. A
/// watchdog shell stops it when this test process ends, however it ends; its output goes to
/// `target/<name>-<port>.log`, shown if it does not come up.
fn launch(name: &str, program: &Path, args: &[&str], patience: Duration) -> String {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let log = crate::repo::repo_root().join("target").join(format!("{}-{port}.log", name.replace(' ', "-")));
    let _ = std::fs::create_dir_all(log.parent().expect("target/"));
    let script = format!(
        "\"$0\" \"$@\" {port} >\"{log}\" 2>&1 & m=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null",
        log = log.display(),
        parent = std::process::id()
    );
    // Never waited for on success: the watchdog lives as long as this test process.
    #[allow(clippy::zombie_processes)]
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} ({}) cannot start: {e}", program.display()));
    let output = || std::fs::read_to_string(&log).unwrap_or_default();
    wait::until(&format!("{name} listened on port {port}"), patience, output, || {
        if let Ok(Some(_)) = watchdog.try_wait() {
            panic!("{name} stopped before it listened on port {port}:\n{}", output());
        }
        TcpStream::connect(("127.0.0.1", port)).is_ok().then_some(())
    });
    format!("http://127.0.0.1:{port}")
}
