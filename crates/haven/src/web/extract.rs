//! Request extractors whose rejections speak the contract's error shape: JSON bodies,
//! staff authentication and the client address for rate limiting.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::access::Staff;
use crate::crypto::token_hash;

/// A JSON body. Unlike `axum::Json`, every rejection is an [`ApiError`]: malformed JSON →
/// 400, a body over the limit → 413, a wrong type or a missing field → 422 naming the field
/// (`service`, `answers`, …).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::bad_request(
                "Send a JSON body with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad_request("The request body could not be read")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // First the syntax of the whole body (trailing text included), so that malformed JSON
    // is always 400 even when its first value would already fail on a field (422).
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(ApiError::bad_request(format!(
            "The body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    parsed.map_err(|e| {
        let inner = e.inner();
        if !inner.is_data() {
            return ApiError::bad_request(format!(
                "The body is not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            ));
        }
        let path = e.path().to_string();
        // serde accepts a struct written as an array; our bodies are objects.
        if path.starts_with('[') {
            return ApiError::unprocessable([("body", "The body must be a JSON object")]);
        }
        let message = inner.to_string();
        // serde reports a missing field at its parent's path; name the field itself.
        let field = match missing_field(&message) {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None if path == "." => "body".to_owned(),
            None => path,
        };
        ApiError::unprocessable([(field, data_message(&message))])
    })
}

/// `missing field `x`` → `x`.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// serde's message without its position suffix (` at line 1 column 9`).
fn data_message(message: &str) -> String {
    let trimmed = message
        .rsplit_once(" at line ")
        .map_or(message, |(before, _)| before);
    if let Some(name) = missing_field(trimmed) {
        return format!("`{name}` is required");
    }
    let mut out = trimmed.to_owned();
    if let Some(first) = out.get(..1) {
        let upper = first.to_uppercase();
        out.replace_range(..1, &upper);
    }
    out
}

/// The member of staff a valid `Authorization: Bearer TOKEN` belongs to; 401 otherwise.
pub struct StaffAuth(pub Staff);

impl FromRequestParts<AppState> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let user = state
            .storage
            .authenticate_token(&token_hash(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(StaffAuth(Staff {
            user_id: user.id,
            email: user.email,
            role: user.role,
            team: user.team,
        }))
    }
}

/// The client's address for rate limiting: the socket peer, or the last `X-Forwarded-For`
/// entry when the server is configured to trust its proxy. `None` when unknown (requests
/// made in-process, as in tests).
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let trust = parts
            .extensions
            .get::<TrustForwardedFor>()
            .is_some_and(|t| t.0);
        if trust
            && let Some(ip) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Ok(ClientIp(Some(ip)));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(peer))
    }
}

/// Request extension set by the router: whether `X-Forwarded-For` is trusted.
#[derive(Debug, Clone, Copy)]
pub struct TrustForwardedFor(pub bool);

/// Counts the request against `limiter` for the client's address: 429 with `Retry-After`
/// past its allowance. The one step behind every per-address quota extractor.
pub async fn take_allowance(
    parts: &mut Parts,
    state: &AppState,
    limiter: &crate::web::rate_limit::RateLimiter,
) -> Result<(), ApiError> {
    let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
    limiter
        .check(ip)
        .map_err(|limited| ApiError::TooManyRequests {
            retry_after_secs: limited.retry_after_secs,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        service: String,
        answers: serde_json::Value,
        nested: Option<Nested>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Nested {
        count: u32,
    }

    fn field_of(err: ApiError) -> (u16, Vec<String>) {
        let status = err.status().as_u16();
        match err {
            ApiError::Unprocessable(fields) => {
                (status, fields.into_iter().map(|f| f.field).collect())
            }
            _ => (status, Vec::new()),
        }
    }

    #[test]
    fn malformed_json_is_400() {
        let err = parse_json::<Body>(b"{\"service\": ").err().unwrap();
        assert_eq!(err.status().as_u16(), 400);
        let err = parse_json::<Body>(b"{\"service\":\"a\",\"answers\":{}} trailing")
            .err()
            .unwrap();
        assert_eq!(err.status().as_u16(), 400);
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_field() {
        let err = parse_json::<Body>(br#"{"service": 5, "answers": {}}"#)
            .err()
            .unwrap();
        assert_eq!(field_of(err), (422, vec!["service".to_owned()]));
        let err = parse_json::<Body>(br#"{"answers": {}}"#).err().unwrap();
        assert_eq!(field_of(err), (422, vec!["service".to_owned()]));
        let err =
            parse_json::<Body>(br#"{"service": "s", "answers": {}, "nested": {"count": "x"}}"#)
                .err()
                .unwrap();
        assert_eq!(field_of(err), (422, vec!["nested.count".to_owned()]));
        let err = parse_json::<Body>(b"[1]").err().unwrap();
        assert_eq!(field_of(err), (422, vec!["body".to_owned()]));
    }
}
