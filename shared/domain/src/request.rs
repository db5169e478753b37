//! Turning a raw request body into a JSON object of params (stages 3–6 of docs/api.md#stages;
//! docs/api.md#request-bodies).

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::envelope::{Outcome, Status};

/// Largest raw body a route accepts (after API Gateway's own base64 is undone).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Stage 3: the media type must be `application/json`; a charset, if given, must be UTF-8.
pub fn check_content_type(value: Option<&str>) -> Result<(), Outcome> {
    let refuse = || Outcome::status(Status::InvalidContentType);
    let value = value.ok_or_else(refuse)?;
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(refuse());
    }
    for part in parts {
        let Some((name, val)) = part.split_once('=') else { continue };
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = val.trim().trim_matches('"');
            if !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")) {
                return Err(refuse());
            }
        }
    }
    Ok(())
}

/// Stage 4: the size limit, reported as `invalid-param` on `body`.
pub fn check_body_size(body: &[u8], limit: usize) -> Result<(), Outcome> {
    if body.len() > limit {
        return Err(Outcome::param(Status::InvalidParam, "body", &format!("The body must not exceed {limit} bytes.")));
    }
    Ok(())
}

/// Stages 5 and 6: decode the body (base64 first on a sensitive route) into a non-empty object.
pub fn decode_params(body: &[u8], sensitive: bool) -> Result<Map<String, Value>, Outcome> {
    let invalid = || Outcome::status(Status::InvalidEncodedParams);
    let text = std::str::from_utf8(strip_bom(body)).map_err(|_| invalid())?;
    let json_text;
    let text = if sensitive {
        let decoded = decode_sensitive(text).ok_or_else(invalid)?;
        json_text = String::from_utf8(decoded).map_err(|_| invalid())?;
        json_text.strip_prefix('\u{feff}').unwrap_or(&json_text)
    } else {
        text
    };
    if text.trim().is_empty() {
        return Err(Outcome::status(Status::NoParamsDecoded));
    }
    match parse_strict_json(text).map_err(|_| invalid())? {
        Value::Object(map) if !map.is_empty() => Ok(map),
        _ => Err(Outcome::status(Status::NoParamsDecoded)),
    }
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Standard or URL-safe base64, padding optional, whitespace ignored; raw or as a JSON string.
fn decode_sensitive(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let inner;
    let encoded = if trimmed.starts_with('"') {
        inner = serde_json::from_str::<String>(trimmed).ok()?;
        inner.as_str()
    } else {
        trimmed
    };
    let normalised: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(normalised.as_bytes()).ok()
}

/// JSON like `serde_json`, but a duplicate key anywhere is an error (docs/api.md#request-bodies).
pub fn parse_strict_json(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value without duplicate keys")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn status_of(r: Result<Map<String, Value>, Outcome>) -> Status {
        match r {
            Ok(_) => Status::ActionSuccessful,
            Err(o) => o.status,
        }
    }

    #[test]
    fn content_type_rules() {
        assert!(check_content_type(Some("application/json")).is_ok());
        assert!(check_content_type(Some("Application/JSON; charset=UTF-8")).is_ok());
        assert!(check_content_type(Some("application/json;charset=\"utf-8\"")).is_ok());
        assert!(check_content_type(Some("application/json; charset=latin-1")).is_err());
        assert!(check_content_type(Some("text/plain")).is_err());
        assert!(check_content_type(Some("application/jsonx")).is_err());
        assert!(check_content_type(None).is_err());
    }

    #[test]
    fn body_size_limit_is_inclusive() {
        assert!(check_body_size(&vec![b' '; MAX_BODY_BYTES], MAX_BODY_BYTES).is_ok());
        let err = check_body_size(&vec![b' '; MAX_BODY_BYTES + 1], MAX_BODY_BYTES).unwrap_err();
        assert_eq!(err.status, Status::InvalidParam);
        assert_eq!(err.errors[0].param, "body");
    }

    #[test]
    fn plain_route_decodes_json_objects_only() {
        assert!(decode_params(br#"{"token":"x"}"#, false).is_ok());
        assert!(decode_params(b"\xEF\xBB\xBF{\"token\":\"x\"}", false).is_ok());
        assert_eq!(status_of(decode_params(b"", false)), Status::NoParamsDecoded);
        assert_eq!(status_of(decode_params(b"  \n", false)), Status::NoParamsDecoded);
        assert_eq!(status_of(decode_params(b"{}", false)), Status::NoParamsDecoded);
        assert_eq!(status_of(decode_params(b"[1,2]", false)), Status::NoParamsDecoded);
        assert_eq!(status_of(decode_params(b"\"str\"", false)), Status::NoParamsDecoded);
        assert_eq!(status_of(decode_params(b"null", false)), Status::NoParamsDecoded);
        assert_eq!(status_of(decode_params(b"{\"a\":1", false)), Status::InvalidEncodedParams);
        assert_eq!(status_of(decode_params(b"\xff\xfe{}", false)), Status::InvalidEncodedParams);
        assert_eq!(status_of(decode_params(br#"{"a":1,"a":2}"#, false)), Status::InvalidEncodedParams);
        assert_eq!(status_of(decode_params(br#"{"o":{"b":1,"b":1}}"#, false)), Status::InvalidEncodedParams);
        let b64 = STANDARD.encode(br#"{"token":"x"}"#);
        assert_eq!(status_of(decode_params(b64.as_bytes(), false)), Status::InvalidEncodedParams);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(status_of(decode_params(deep.as_bytes(), false)), Status::InvalidEncodedParams);
    }

    #[test]
    fn sensitive_route_accepts_every_base64_form() {
        let json = br#"{"token":"x","bio":"??>>"}"#;
        let std = STANDARD.encode(json);
        let url = URL_SAFE_NO_PAD.encode(json);
        assert_ne!(std.trim_end_matches('='), url, "the sample must exercise the URL-safe alphabet");
        let wrapped =
            std.as_bytes().chunks(10).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n");
        for body in [std.clone(), url.clone(), format!("  {wrapped}\n"), format!("\"{std}\""), format!(" \"{url}\" ")] {
            let map = decode_params(body.as_bytes(), true).unwrap_or_else(|o| panic!("{body}: {o:?}"));
            assert_eq!(map["token"], "x");
        }
        assert_eq!(status_of(decode_params(json, true)), Status::InvalidEncodedParams);
        assert_eq!(status_of(decode_params(b"!!!!", true)), Status::InvalidEncodedParams);
        assert_eq!(
            status_of(decode_params(STANDARD.encode(b"\xff\xfe").as_bytes(), true)),
            Status::InvalidEncodedParams
        );
        assert_eq!(status_of(decode_params(STANDARD.encode(b"{}").as_bytes(), true)), Status::NoParamsDecoded);
        assert_eq!(status_of(decode_params(b"", true)), Status::NoParamsDecoded);
    }
}
