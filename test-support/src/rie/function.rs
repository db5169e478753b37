//! One function binary under the Runtime Interface Emulator.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::repo::repo_root;
use crate::wait;

/// Where `scripts/test` points the tests at the emulator; else it is looked up in `.venv-sam`.
pub const RIE_VAR: &str = "PLANOCORE_TEST_RIE";

const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";

/// The emulator's binary, or a panic that says how to get it: the tests never skip.
pub fn rie_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(RIE_VAR).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let lib = repo_root().join(".venv-sam/lib");
    let found = std::fs::read_dir(&lib).into_iter().flatten().flatten().find_map(|python| {
        let rie = python.path().join("site-packages/samcli/local/rapid/aws-lambda-rie-x86_64");
        rie.exists().then_some(rie)
    });
    found.unwrap_or_else(|| {
        panic!(
            "The binary tests need AWS's Runtime Interface Emulator and found none in .venv-sam.\n\
             Run the tests with ./scripts/test (it installs aws-sam-cli, which ships it), or set\n\
             {RIE_VAR}=/path/to/aws-lambda-rie-x86_64."
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

/// One function binary running under the emulator; what it and the emulator print is kept.
pub struct Function {
    child: Child,
    address: String,
    output: Arc<Mutex<Vec<String>>>,
}

impl Function {
    /// Starts `binary` (an absolute path) as the function `name` with Lambda's environment and
    /// `env`, and nothing else of this process's environment (no stray AWS profile or endpoint).
    pub fn start(binary: &Path, name: &str, env: &[(&str, String)]) -> Function {
        let binary = binary.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        // Both addresses explicit: the emulator's default Runtime API port collides between
        // instances running side by side.
        let address = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(rie_binary())
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_TIMEOUT", "30")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["--runtime-interface-emulator-address", &address])
            .args(["--runtime-api-address", &format!("127.0.0.1:{}", free_port())])
            .arg(&binary)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("the Runtime Interface Emulator does not start: {e}"));
        let output = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take().expect("piped stdout"), output.clone());
        collect_lines(child.stderr.take().expect("piped stderr"), output.clone());
        let mut function = Function { child, address, output };
        function.wait_until_listening();
        function
    }

    fn wait_until_listening(&mut self) {
        let (address, output) = (self.address.clone(), self.output.clone());
        let shown = || output.lock().unwrap().join("\n");
        wait::until(&format!("the emulator listened on {address}"), Duration::from_secs(20), shown, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the emulator stopped ({status}) before it listened:\n{}", shown());
            }
            TcpStream::connect(&address).is_ok().then_some(())
        })
    }

    /// Invokes the function with `event` as the Lambda service would, and returns its raw answer.
    pub fn invoke_raw(&self, event: &str) -> Value {
        crate::http(&self.address, "POST", INVOKE_PATH, Some("application/json"), &[], event.as_bytes()).body
    }

    /// Invokes the function with an API Gateway event; an invocation error fails the test.
    pub fn invoke(&self, event: &str) -> HttpAnswer {
        let answer = self.invoke_raw(event);
        HttpAnswer::parse(&answer).unwrap_or_else(|| panic!("not an HTTP API answer: {answer}\n{}", self.output()))
    }

    /// The JSON lines printed so far: the function's logs (the emulator's own lines are not JSON).
    pub fn log_lines(&self) -> Vec<Value> {
        self.output.lock().unwrap().iter().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// Everything printed so far, for failure messages.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Waits until the function has printed a line that `pred` accepts (the log line of a
    /// request is written just after its response is posted).
    pub fn wait_for_log(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        wait::until(
            &format!("a log line {what}"),
            Duration::from_secs(10),
            || self.output(),
            || self.log_lines().into_iter().find(|l| pred(l)),
        )
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_lines(pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
}

/// A function's answer to an API Gateway HTTP API (v2) event, decoded.
#[derive(Debug)]
pub struct HttpAnswer {
    pub code: u16,
    pub headers: serde_json::Map<String, Value>,
    pub body: Value,
}

impl HttpAnswer {
    /// `None` when `answer` is not an HTTP API response (an invocation error, say).
    pub fn parse(answer: &Value) -> Option<HttpAnswer> {
        let code = answer["statusCode"].as_u64()? as u16;
        let raw = answer["body"].as_str().unwrap_or("");
        let raw = if answer["isBase64Encoded"] == true {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(raw).ok()?).ok()?
        } else {
            raw.to_string()
        };
        Some(HttpAnswer {
            code,
            headers: answer["headers"].as_object().cloned().unwrap_or_default(),
            // No body (a preflight's 204) is `null`.
            body: if raw.is_empty() { Value::Null } else { serde_json::from_str(&raw).ok()? },
        })
    }
}
