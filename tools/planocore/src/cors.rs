//! CORS for `planocore serve`, answered the way API Gateway's HTTP API answers it with
//! template.yaml's `CorsConfiguration`: preflights are answered `204` without reaching a route,
//! and answers to an allowed origin carry its `Access-Control-Allow-Origin`. An origin, method
//! or header that is not allowed gets a `204` without CORS headers, which the browser refuses.
//! Only the allowed origins differ: a deployed API allows the template's `AllowedOrigins`.

use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode};

/// `AllowMethods` of template.yaml (tests/it/template.rs checks that they agree).
pub const ALLOW_METHODS: &[&str] = &["PUT", "POST"];
/// `AllowHeaders` of template.yaml: the request headers a browser may send.
pub const ALLOW_HEADERS: &[&str] = &["content-type", "idempotency-key"];
/// `ExposeHeaders` of template.yaml: the answer headers a page may read.
pub const EXPOSE_HEADERS: &[&str] = &["x-request-id", "retry-after", "idempotent-replayed"];
/// `MaxAge` of template.yaml: how long a browser may reuse a preflight's answer.
pub const MAX_AGE_SECONDS: u32 = 600;

/// What `planocore serve` allows without `--cors-origin`: a web app on this machine, any port.
pub const DEFAULT_ORIGINS: &[&str] = &["http://localhost:*", "http://127.0.0.1:*"];

/// One allowed origin: `*` (any), `scheme://host:*` (that host, any port) or an exact origin.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OriginPattern {
    Any,
    AnyPort { scheme_host: String },
    Exact(String),
}

impl OriginPattern {
    fn parse(text: &str) -> Result<OriginPattern, String> {
        let text = text.trim().trim_end_matches('/').to_ascii_lowercase();
        if text == "*" {
            return Ok(OriginPattern::Any);
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!("not an origin (scheme://host[:port]): {text:?}"));
        };
        if scheme.is_empty() || rest.is_empty() || rest.contains('/') {
            return Err(format!("not an origin (scheme://host[:port]): {text:?}"));
        }
        match rest.strip_suffix(":*") {
            Some(host) if !host.is_empty() && !host.contains('*') => {
                Ok(OriginPattern::AnyPort { scheme_host: format!("{scheme}://{host}") })
            }
            _ if rest.contains('*') => Err(format!("a wildcard is only allowed as `*` or a port `:*`: {text:?}")),
            _ => Ok(OriginPattern::Exact(text)),
        }
    }

    fn admits(&self, origin: &str) -> bool {
        match self {
            OriginPattern::Any => true,
            OriginPattern::Exact(exact) => origin == exact,
            OriginPattern::AnyPort { scheme_host } => match origin.strip_prefix(scheme_host.as_str()) {
                Some("") => true,
                Some(port) => {
                    port.strip_prefix(':').is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                }
                None => false,
            },
        }
    }
}

/// The origins a server admits, and the headers it answers them with.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    origins: Vec<OriginPattern>,
}

/// A preflight, answered without reaching a route.
pub struct Preflight {
    pub status: StatusCode,
    pub headers: HeaderMap,
}

impl CorsPolicy {
    /// `origins` as given on the command line or in the environment; none means the default.
    pub fn new<S: AsRef<str>>(origins: &[S]) -> Result<CorsPolicy, String> {
        let origins: Vec<&str> = origins.iter().map(AsRef::as_ref).filter(|o| !o.trim().is_empty()).collect();
        let origins = if origins.is_empty() { DEFAULT_ORIGINS.to_vec() } else { origins };
        let origins = origins.into_iter().map(OriginPattern::parse).collect::<Result<_, _>>()?;
        Ok(CorsPolicy { origins })
    }

    fn admits(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        self.origins.iter().any(|p| p.admits(&origin))
    }

    /// `Some` for a CORS preflight (`app::pipeline::is_cors_preflight`, as the deployed
    /// fallback decides). Any other `OPTIONS` is an ordinary request (the fallback answers it).
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Preflight> {
        if !app::pipeline::is_cors_preflight(method, headers) {
            return None;
        }
        let origin = headers.get("origin").and_then(|o| o.to_str().ok());
        let requested = headers.get("access-control-request-method")?.to_str().ok();
        let mut answer = HeaderMap::new();
        answer.insert("vary", HeaderValue::from_static("origin"));
        let allowed = match (origin, requested) {
            (Some(origin), Some(requested)) => {
                self.admits(origin)
                    && ALLOW_METHODS.contains(&requested)
                    && requested_headers(headers).all(|h| ALLOW_HEADERS.contains(&h.as_str()))
            }
            _ => false,
        };
        if allowed {
            answer.insert("access-control-allow-origin", header(origin.unwrap_or_default()));
            answer.insert("access-control-allow-methods", header(&ALLOW_METHODS.join(",")));
            answer.insert("access-control-allow-headers", header(&ALLOW_HEADERS.join(",")));
            answer.insert("access-control-max-age", header(&MAX_AGE_SECONDS.to_string()));
        }
        Some(Preflight { status: StatusCode::NO_CONTENT, headers: answer })
    }

    /// Adds the CORS headers to a route's answer when the request came from an allowed origin.
    pub fn decorate(&self, request: &HeaderMap, answer: &mut HeaderMap) {
        let Some(origin) = request.get("origin").and_then(|o| o.to_str().ok()) else {
            return;
        };
        answer.append("vary", HeaderValue::from_static("origin"));
        if self.admits(origin) {
            answer.insert("access-control-allow-origin", header(origin));
            answer.insert("access-control-expose-headers", header(&EXPOSE_HEADERS.join(",")));
        }
    }
}

/// The names in `Access-Control-Request-Headers`, lower-cased.
fn requested_headers(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all("access-control-request-headers")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
}

fn header(value: &str) -> HeaderValue {
    // Every value here came in as a header value or is one of the constants above.
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn preflight(policy: &CorsPolicy, origin: &str, method: &str, extra: &[(&'static str, &str)]) -> Preflight {
        let mut h = headers(&[("origin", origin), ("access-control-request-method", method)]);
        h.extend(headers(extra));
        policy.preflight(&Method::OPTIONS, &h).expect("a preflight")
    }

    fn default_policy() -> CorsPolicy {
        CorsPolicy::new::<&str>(&[]).unwrap()
    }

    #[test]
    fn the_default_admits_localhost_and_loopback_on_any_port_and_nothing_else() {
        let policy = default_policy();
        for origin in ["http://localhost:5173", "http://127.0.0.1:8080", "http://localhost", "HTTP://LOCALHOST:3000"] {
            assert!(policy.admits(origin), "{origin}");
        }
        for origin in [
            "https://localhost:5173",
            "http://localhost.evil.example",
            "http://localhost:80x",
            "http://127.0.0.1.evil.example:80",
            "http://[::1]:3000",
            "null",
            "http://example.com",
        ] {
            assert!(!policy.admits(origin), "{origin}");
        }
    }

    #[test]
    fn an_allowed_preflight_gets_the_templates_headers() {
        let p = preflight(
            &default_policy(),
            "http://localhost:5173",
            "PUT",
            &[("access-control-request-headers", "Content-Type, Idempotency-Key")],
        );
        assert_eq!(p.status, StatusCode::NO_CONTENT);
        let get = |name: &str| p.headers.get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(get("access-control-allow-origin").as_deref(), Some("http://localhost:5173"));
        assert_eq!(get("access-control-allow-methods").as_deref(), Some("PUT,POST"));
        assert_eq!(get("access-control-allow-headers").as_deref(), Some("content-type,idempotency-key"));
        assert_eq!(get("access-control-max-age").as_deref(), Some("600"));
        assert_eq!(get("vary").as_deref(), Some("origin"));
    }

    #[test]
    fn a_preflight_for_another_origin_method_or_header_gets_no_cors_headers() {
        let policy = CorsPolicy::new(&["https://app.example.com"]).unwrap();
        let refused = [
            preflight(&policy, "http://localhost:5173", "PUT", &[]),
            preflight(&policy, "https://app.example.com", "DELETE", &[]),
            preflight(
                &policy,
                "https://app.example.com",
                "POST",
                &[("access-control-request-headers", "content-type, authorization")],
            ),
        ];
        for p in refused {
            assert_eq!(p.status, StatusCode::NO_CONTENT);
            assert!(p.headers.keys().all(|k| !k.as_str().starts_with("access-control-")), "{:?}", p.headers);
        }
        let p = preflight(&policy, "https://app.example.com", "POST", &[]);
        assert!(p.headers.contains_key("access-control-allow-origin"));
    }

    #[test]
    fn only_options_with_a_requested_method_is_a_preflight() {
        let policy = default_policy();
        let origin_only = headers(&[("origin", "http://localhost:1")]);
        assert!(policy.preflight(&Method::OPTIONS, &origin_only).is_none());
        assert!(policy.preflight(&Method::OPTIONS, &HeaderMap::new()).is_none());
        // Without an Origin: 204 and no CORS headers, as the deployed fallback answers it.
        let no_origin = policy.preflight(&Method::OPTIONS, &headers(&[("access-control-request-method", "PUT")]));
        let no_origin = no_origin.expect("a preflight");
        assert_eq!(no_origin.status, StatusCode::NO_CONTENT);
        assert!(no_origin.headers.keys().all(|k| !k.as_str().starts_with("access-control-")));
        let full = headers(&[("origin", "http://localhost:1"), ("access-control-request-method", "PUT")]);
        assert!(policy.preflight(&Method::PUT, &full).is_none());
    }

    #[test]
    fn answers_to_an_allowed_origin_expose_the_request_id_retry_after_and_the_replay_flag() {
        let policy = default_policy();
        let mut answer = headers(&[("x-request-id", "r")]);
        policy.decorate(&headers(&[("origin", "http://127.0.0.1:9999")]), &mut answer);
        assert_eq!(answer.get("access-control-allow-origin").unwrap(), "http://127.0.0.1:9999");
        assert_eq!(
            answer.get("access-control-expose-headers").unwrap(),
            "x-request-id,retry-after,idempotent-replayed"
        );

        let mut answer = HeaderMap::new();
        policy.decorate(&headers(&[("origin", "http://example.com")]), &mut answer);
        assert!(answer.get("access-control-allow-origin").is_none());
        let mut answer = HeaderMap::new();
        policy.decorate(&HeaderMap::new(), &mut answer);
        assert!(answer.is_empty(), "a request without Origin is answered as before");
    }

    #[test]
    fn origins_are_checked_when_the_server_starts() {
        assert!(CorsPolicy::new(&["localhost:3000"]).is_err());
        assert!(CorsPolicy::new(&["http://*.example.com"]).is_err());
        assert!(CorsPolicy::new(&["http://app.example.com/path"]).is_err());
        let policy = CorsPolicy::new(&["*"]).unwrap();
        assert!(policy.admits("https://anything.example"));
        let policy = CorsPolicy::new(&["https://app.example.com/", " "]).unwrap();
        assert!(policy.admits("https://app.example.com") && !policy.admits("http://localhost:3000"));
    }
}
