//! Authentication at the gateway: JWT (HS256 with a shared secret, RS256 with a PEM public
//! key) checking `exp`, `nbf`, `iss` and `aud`; API keys from a key list (`key` or
//! `key:plan`); HMAC-SHA256 request signatures over `timestamp.body` with a replay window.
//! A missing or invalid credential is 401, a valid one without the route's permissions 403.

use crate::spec::AuthSpec;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// Who a request is, once authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The user (JWT `sub`, the API key, or the HMAC key index).
    pub user: Option<String>,
    /// The API key presented.
    pub api_key: Option<String>,
    /// The plan of that API key (`key:plan` in the key list).
    pub plan: Option<String>,
    /// Permissions granted (JWT `scope`, `scopes` or `permissions`).
    pub permissions: Vec<String>,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// 401: no valid credentials.
    Unauthorized(String),
    /// 403: valid credentials lacking a permission.
    Forbidden(String),
}

/// One configured scheme with its keys, read from the environment at start-up.
#[derive(Debug)]
pub struct Scheme {
    spec: AuthSpec,
    secrets: Vec<String>,
    rsa_key: Option<rsa::pkcs1v15::VerifyingKey<Sha256>>,
    api_keys: HashMap<String, Option<String>>,
    seen: Mutex<HashMap<Vec<u8>, u64>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unauthorized(why: impl Into<String>) -> AuthError {
    AuthError::Unauthorized(why.into())
}

impl Scheme {
    /// The scheme with its keys from `env` (the value of `spec.secret_env`, if set).
    pub fn new(spec: AuthSpec, env: Option<String>) -> Self {
        let text = env.unwrap_or_default();
        let trimmed = text.trim();
        let rsa_key = (spec.kind == "jwt" && trimmed.starts_with("-----BEGIN"))
            .then(|| rsa::RsaPublicKey::from_public_key_pem(trimmed).ok())
            .flatten()
            .map(rsa::pkcs1v15::VerifyingKey::<Sha256>::new);
        let secrets: Vec<String> = if spec.kind == "jwt" {
            // A JWT secret is one value, commas and all; a PEM key is not a secret.
            if trimmed.is_empty() || rsa_key.is_some() {
                Vec::new()
            } else {
                vec![trimmed.to_string()]
            }
        } else {
            trimmed
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let api_keys = secrets
            .iter()
            .map(|k| match k.split_once(':') {
                Some((key, plan)) => (key.to_string(), Some(plan.to_string())),
                None => (k.clone(), None),
            })
            .collect();
        Self {
            spec,
            secrets,
            rsa_key,
            api_keys,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `jwt`, `api_key` or `hmac`.
    pub fn kind(&self) -> &str {
        &self.spec.kind
    }

    /// True when keys were found for the scheme.
    pub fn configured(&self) -> bool {
        !self.secrets.is_empty() || self.rsa_key.is_some()
    }

    /// True when the request carries this scheme's credential at all.
    pub fn present(&self, headers: &axum::http::HeaderMap) -> bool {
        match self.spec.kind.as_str() {
            "jwt" => headers.contains_key(axum::http::header::AUTHORIZATION),
            "api_key" => headers.contains_key(self.api_key_header()),
            _ => headers.contains_key(self.signature_header()),
        }
    }

    fn api_key_header(&self) -> &str {
        self.spec.header.as_deref().unwrap_or("x-api-key")
    }

    fn signature_header(&self) -> &str {
        self.spec.header.as_deref().unwrap_or("x-signature")
    }

    /// Checks the request's credential.
    pub fn verify(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<Identity, AuthError> {
        if !self.configured() {
            let var = self.spec.secret_env.as_deref().unwrap_or("(none)");
            return Err(unauthorized(format!(
                "{} authentication has no keys: set {var}",
                self.spec.kind
            )));
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match self.spec.kind.as_str() {
            "jwt" => {
                let value =
                    header("authorization").ok_or_else(|| unauthorized("no bearer token"))?;
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .ok_or_else(|| unauthorized("Authorization is not a bearer token"))?;
                self.verify_jwt(token.trim(), now_secs())
            }
            "api_key" => {
                let key =
                    header(self.api_key_header()).ok_or_else(|| unauthorized("no API key"))?;
                match self.api_keys.get(key) {
                    Some(plan) => Ok(Identity {
                        user: Some(key.to_string()),
                        api_key: Some(key.to_string()),
                        plan: plan.clone(),
                        permissions: Vec::new(),
                    }),
                    None => Err(unauthorized("unknown API key")),
                }
            }
            _ => {
                let signature =
                    header(self.signature_header()).ok_or_else(|| unauthorized("no signature"))?;
                let ts = header("x-timestamp").ok_or_else(|| unauthorized("no X-Timestamp"))?;
                self.verify_hmac(signature, ts, body, now_secs())
            }
        }
    }

    /// Verifies a compact JWT at time `now` (seconds since the epoch).
    pub fn verify_jwt(&self, token: &str, now: u64) -> Result<Identity, AuthError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unauthorized("the token is not a JWT"));
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .map_err(|_| unauthorized("the token is not base64url"))
        };
        let header: Value = serde_json::from_slice(&decode(h)?)
            .map_err(|_| unauthorized("the token header is not JSON"))?;
        let signature = decode(s)?;
        let signed = &token[..h.len() + 1 + p.len()];
        match header.get("alg").and_then(Value::as_str) {
            Some("HS256") => {
                let ok = self.secrets.iter().any(|secret| {
                    HmacSha256::new_from_slice(secret.as_bytes()).is_ok_and(|mut mac| {
                        mac.update(signed.as_bytes());
                        mac.verify_slice(&signature).is_ok()
                    })
                });
                if !ok {
                    return Err(unauthorized("bad token signature"));
                }
            }
            Some("RS256") => {
                let key = self
                    .rsa_key
                    .as_ref()
                    .ok_or_else(|| unauthorized("RS256 tokens need a PEM public key"))?;
                let sig = rsa::pkcs1v15::Signature::try_from(signature.as_slice())
                    .map_err(|_| unauthorized("bad token signature"))?;
                key.verify(signed.as_bytes(), &sig)
                    .map_err(|_| unauthorized("bad token signature"))?;
            }
            other => {
                return Err(unauthorized(format!(
                    "token algorithm {} is not accepted (HS256, RS256)",
                    other.unwrap_or("(none)")
                )))
            }
        }
        let claims: Value = serde_json::from_slice(&decode(p)?)
            .map_err(|_| unauthorized("the token claims are not JSON"))?;
        let number = |name: &str| claims.get(name).and_then(Value::as_u64);
        if let Some(exp) = number("exp") {
            if now >= exp {
                return Err(unauthorized("the token has expired"));
            }
        }
        if let Some(nbf) = number("nbf") {
            if now < nbf {
                return Err(unauthorized("the token is not valid yet"));
            }
        }
        if let Some(iss) = &self.spec.issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(iss.as_str()) {
                return Err(unauthorized("wrong token issuer"));
            }
        }
        if let Some(aud) = &self.spec.audience {
            let ok = match claims.get("aud") {
                Some(Value::String(a)) => a == aud,
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(aud)),
                _ => false,
            };
            if !ok {
                return Err(unauthorized("wrong token audience"));
            }
        }
        let mut permissions: Vec<String> = Vec::new();
        if let Some(scope) = claims.get("scope").and_then(Value::as_str) {
            permissions.extend(scope.split_whitespace().map(str::to_string));
        }
        for name in ["scopes", "permissions"] {
            if let Some(list) = claims.get(name).and_then(Value::as_array) {
                permissions.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
        Ok(Identity {
            user: claims
                .get("sub")
                .and_then(Value::as_str)
                .map(str::to_string),
            api_key: None,
            plan: None,
            permissions,
        })
    }

    /// Verifies `signature` (hex HMAC-SHA256 of `timestamp.body`) at time `now`.
    pub fn verify_hmac(
        &self,
        signature: &str,
        timestamp: &str,
        body: &[u8],
        now: u64,
    ) -> Result<Identity, AuthError> {
        let ts: u64 = timestamp
            .trim()
            .parse()
            .map_err(|_| unauthorized("X-Timestamp is not a number of seconds"))?;
        let window = Duration::from_millis(self.spec.window_ms.unwrap_or(300_000)).as_secs();
        if ts.abs_diff(now) > window {
            return Err(unauthorized("the signature is outside the replay window"));
        }
        let hex = signature.trim().trim_start_matches("sha256=");
        let sig = decode_hex(hex).ok_or_else(|| unauthorized("the signature is not hex"))?;
        let index = self.secrets.iter().position(|secret| {
            HmacSha256::new_from_slice(secret.as_bytes()).is_ok_and(|mut mac| {
                mac.update(timestamp.trim().as_bytes());
                mac.update(b".");
                mac.update(body);
                mac.verify_slice(&sig).is_ok()
            })
        });
        let Some(index) = index else {
            return Err(unauthorized("bad signature"));
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, expires| *expires > now);
        if seen.insert(sig, ts + window + 1).is_some() {
            return Err(unauthorized("the signed request was replayed"));
        }
        Ok(Identity {
            user: Some(format!("hmac-key-{index}")),
            ..Identity::default()
        })
    }
}

/// Every permission in `required` is granted.
pub fn authorize(identity: &Identity, required: &[String]) -> Result<(), AuthError> {
    match required.iter().find(|p| !identity.permissions.contains(p)) {
        Some(missing) => Err(AuthError::Forbidden(format!(
            "the `{missing}` permission is required"
        ))),
        None => Ok(()),
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// HMAC-SHA256 of `message` under `key`, hex (signed URLs, request signatures).
pub fn sign_hex(key: &[u8], message: &[u8]) -> String {
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            hex(&mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}
