//! A `limit` policy of an `.arch` file ([`Policy`]) and the [`Limiter`] that applies it to
//! requests: key extraction, allow/deny lists, tier and country rates, adaptive scaling,
//! then the algorithm in a [`LimiterStore`].

use super::{AccessList, AdaptiveRate, Algorithm, Decision, LimiterStore, Rate, Spec, StoreError};
use crate::clock::Clock;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// What a policy counts (`key = ...`, default `ip`).
///
/// A request that lacks the value (no authenticated user, no API key, no such header) is
/// counted by its IP address instead, so anonymous traffic cannot escape a per-user limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum LimitKey {
    /// The client address.
    #[default]
    Ip,
    /// The authenticated user.
    User,
    /// The API key.
    ApiKey,
    /// The endpoint (route), shared by all clients.
    Endpoint,
    /// One counter for everything.
    Global,
    /// The value of a request header (`header("X-Tenant")`), case-insensitive name.
    Header(String),
}

/// The parts of a request a limiter looks at; framework independent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Client address, if known.
    pub ip: Option<IpAddr>,
    /// Authenticated user id.
    pub user: Option<String>,
    /// API key presented.
    pub api_key: Option<String>,
    /// The endpoint or route pattern (`GET /api/orders`).
    pub endpoint: String,
    /// ISO country code of the client, usually from a geo header set by the edge.
    pub country: Option<String>,
    /// Request headers (name, value); names compare case-insensitively.
    pub headers: Vec<(String, String)>,
}

impl RequestInfo {
    /// A request to `endpoint` with nothing else known.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            ..Self::default()
        }
    }

    /// Sets the client address.
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets the authenticated user.
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the client country.
    pub fn with_country(mut self, country: impl Into<String>) -> Self {
        self.country = Some(country.into());
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn ip_key(&self) -> String {
        self.ip
            .map_or_else(|| "ip:unknown".to_string(), |ip| format!("ip:{ip}"))
    }
}

impl LimitKey {
    /// The counter key of `req` under this key kind, without the policy name.
    pub fn extract(&self, req: &RequestInfo) -> String {
        let or_ip = |kind: &str, v: Option<&str>| {
            v.filter(|v| !v.is_empty())
                .map_or_else(|| req.ip_key(), |v| format!("{kind}:{v}"))
        };
        match self {
            Self::Ip => req.ip_key(),
            Self::User => or_ip("user", req.user.as_deref()),
            Self::ApiKey => or_ip("api_key", req.api_key.as_deref()),
            Self::Endpoint => format!("endpoint:{}", req.endpoint),
            Self::Global => "global".to_string(),
            Self::Header(name) => or_ip(
                &format!("header:{}", name.to_ascii_lowercase()),
                req.header(name),
            ),
        }
    }
}

/// Maps an API key to its plan (tier) name.
pub trait TierLookup: Send + Sync + fmt::Debug {
    /// The tier of `api_key`, if the key is known.
    fn tier(&self, api_key: &str) -> Option<String>;
}

/// A fixed API key → tier table.
#[derive(Debug, Clone, Default)]
pub struct TierMap(pub HashMap<String, String>);

impl TierLookup for TierMap {
    fn tier(&self, api_key: &str) -> Option<String> {
        self.0.get(api_key).cloned()
    }
}

/// One `limit` block: every attribute of the language, with its default.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The policy's name; prefixes every counter key so policies never share counters.
    pub name: String,
    /// Sustained rate (`rate`).
    pub rate: Rate,
    /// What is counted (`key`).
    pub key: LimitKey,
    /// The algorithm (`algorithm`).
    pub algorithm: Algorithm,
    /// Bucket capacity (`burst`); `None` is the rate per second, at least 1.
    pub burst: Option<u64>,
    /// Block duration after a refusal (`block`).
    pub block: Duration,
    /// Units one request consumes (`cost`).
    pub cost: u64,
    /// Per-plan rates (`tiers`), used with `key = api_key`.
    pub tiers: BTreeMap<String, Rate>,
    /// Per-country rates (`countries`), keyed by upper-case country code.
    pub countries: BTreeMap<String, Rate>,
    /// The `default` rate of `countries`; without it, unlisted countries get `rate`.
    pub country_default: Option<Rate>,
    /// Clients never limited (`allow`).
    pub allow: AccessList,
    /// Clients always refused (`deny`); wins over `allow`.
    pub deny: AccessList,
}

/// Why a policy is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// `cost` is zero.
    ZeroCost,
    /// `burst` is zero.
    ZeroBurst,
    /// `cost` exceeds a quota (window count or bucket capacity): no request could pass.
    CostAboveQuota {
        /// The cost.
        cost: u64,
        /// The smallest quota among the policy's rates.
        quota: u64,
    },
    /// `tiers` is set but the key is not `api_key`.
    TiersNeedApiKey,
    /// A key of `countries` is not a two-letter code.
    BadCountry(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCost => f.write_str("cost must be at least 1"),
            Self::ZeroBurst => f.write_str("burst must be at least 1"),
            Self::CostAboveQuota { cost, quota } => {
                write!(
                    f,
                    "cost {cost} exceeds the quota {quota}: no request could pass"
                )
            }
            Self::TiersNeedApiKey => f.write_str("tiers need key = api_key"),
            Self::BadCountry(c) => write!(f, "`{c}` is not a two-letter country code"),
        }
    }
}

impl std::error::Error for PolicyError {}

impl Policy {
    /// A policy with the language's defaults: key ip, token bucket, default burst, no
    /// block, cost 1, no tiers, countries, lists.
    pub fn new(name: impl Into<String>, rate: Rate) -> Self {
        Self {
            name: name.into(),
            rate,
            key: LimitKey::Ip,
            algorithm: Algorithm::TokenBucket,
            burst: None,
            block: Duration::ZERO,
            cost: 1,
            tiers: BTreeMap::new(),
            countries: BTreeMap::new(),
            country_default: None,
            allow: AccessList::default(),
            deny: AccessList::default(),
        }
    }

    /// Checks the policy and normalises country codes to upper case.
    pub fn validate(mut self) -> Result<Self, PolicyError> {
        if self.cost == 0 {
            return Err(PolicyError::ZeroCost);
        }
        if self.burst == Some(0) {
            return Err(PolicyError::ZeroBurst);
        }
        if !self.tiers.is_empty() && self.key != LimitKey::ApiKey {
            return Err(PolicyError::TiersNeedApiKey);
        }
        let mut countries = BTreeMap::new();
        for (code, rate) in std::mem::take(&mut self.countries) {
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(PolicyError::BadCountry(code));
            }
            countries.insert(code.to_ascii_uppercase(), rate);
        }
        self.countries = countries;
        let rates = std::iter::once(&self.rate)
            .chain(self.tiers.values())
            .chain(self.countries.values())
            .chain(self.country_default.iter());
        let quota = rates.map(|r| self.spec(*r).limit()).min().unwrap_or(1);
        if self.cost > quota {
            return Err(PolicyError::CostAboveQuota {
                cost: self.cost,
                quota,
            });
        }
        Ok(self)
    }

    /// The store spec for `rate` under this policy (burst defaulted from `rate`).
    pub fn spec(&self, rate: Rate) -> Spec {
        Spec {
            algorithm: self.algorithm,
            rate,
            burst: self.burst.unwrap_or_else(|| rate.default_burst()),
            block: self.block,
        }
    }
}

/// The result of a [`Limiter`] check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The client is on the allow list: not limited, no rate headers.
    Allowlisted,
    /// The client is on the deny list: refuse (403), no rate headers.
    Denylisted,
    /// The algorithm decided; answer 429 with [`Decision::headers`] when refused.
    Checked(Decision),
}

impl Outcome {
    /// Whether the request may proceed.
    pub fn allowed(&self) -> bool {
        match self {
            Self::Allowlisted => true,
            Self::Denylisted => false,
            Self::Checked(d) => d.allowed,
        }
    }

    /// The algorithm's decision, if one was made.
    pub fn decision(&self) -> Option<&Decision> {
        match self {
            Self::Checked(d) => Some(d),
            _ => None,
        }
    }
}

/// Applies one [`Policy`] to requests, keeping state in a [`LimiterStore`].
#[derive(Debug, Clone)]
pub struct Limiter {
    policy: Policy,
    store: Arc<dyn LimiterStore>,
    clock: Arc<dyn Clock>,
    tiers: Option<Arc<dyn TierLookup>>,
    adaptive: Option<Arc<AdaptiveRate>>,
}

impl Limiter {
    /// A limiter for `policy` (validated here) over `store`, reading time from `clock`.
    pub fn new(
        policy: Policy,
        store: Arc<dyn LimiterStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PolicyError> {
        Ok(Self {
            policy: policy.validate()?,
            store,
            clock,
            tiers: None,
            adaptive: None,
        })
    }

    /// Resolves API keys to tiers with `lookup` (for `tiers`).
    pub fn with_tiers(mut self, lookup: Arc<dyn TierLookup>) -> Self {
        self.tiers = Some(lookup);
        self
    }

    /// Scales every rate of the policy by the adaptive rate's current factor.
    pub fn with_adaptive(mut self, adaptive: Arc<AdaptiveRate>) -> Self {
        self.adaptive = Some(adaptive);
        self
    }

    /// The (validated) policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The counter key of `req`: `policy-name:kind:value`.
    pub fn key_for(&self, req: &RequestInfo) -> String {
        format!("{}:{}", self.policy.name, self.policy.key.extract(req))
    }

    /// The rate that applies to `req`: its tier's rate (with an API key of a known tier),
    /// else its country's rate or the countries' default (when countries are declared),
    /// else the policy's rate; then scaled by the adaptive factor, if any.
    pub fn rate_for(&self, req: &RequestInfo) -> Rate {
        let p = &self.policy;
        let tier_rate = req
            .api_key
            .as_deref()
            .zip(self.tiers.as_ref())
            .and_then(|(key, lookup)| lookup.tier(key))
            .and_then(|tier| p.tiers.get(&tier).copied());
        let country_rate = || {
            let code = req
                .country
                .as_deref()
                .map(|c| c.trim().to_ascii_uppercase());
            code.and_then(|c| p.countries.get(&c).copied())
                .or(p.country_default)
        };
        let rate = tier_rate.or_else(country_rate).unwrap_or(p.rate);
        match &self.adaptive {
            Some(a) => rate.scaled(a.factor()),
            None => rate,
        }
    }

    /// Checks one request: deny list, allow list, then the algorithm.
    pub async fn check(&self, req: &RequestInfo) -> Result<Outcome, StoreError> {
        let country = req.country.as_deref();
        if self.policy.deny.matches(req.ip, country) {
            return Ok(Outcome::Denylisted);
        }
        if self.policy.allow.matches(req.ip, country) {
            return Ok(Outcome::Allowlisted);
        }
        let spec = self.policy.spec(self.rate_for(req));
        let key = self.key_for(req);
        let now = self.clock.now();
        let decision = self
            .store
            .acquire(&key, &spec, self.policy.cost, now)
            .await?;
        Ok(Outcome::Checked(decision))
    }
}

/// Checks `req` against several limiters (`limits = [a, b]`) and returns the most
/// restrictive outcome: a deny-list hit, else the refusal with the longest `retry_after`,
/// else the admission with the fewest units remaining (carrying the longest delay), else
/// allow-listed. Every limiter is consulted, so each one counts the request.
pub async fn check_all(limiters: &[Limiter], req: &RequestInfo) -> Result<Outcome, StoreError> {
    let mut outcome = Outcome::Allowlisted;
    for limiter in limiters {
        let next = limiter.check(req).await?;
        outcome = match (outcome, next) {
            (Outcome::Denylisted, _) | (_, Outcome::Denylisted) => Outcome::Denylisted,
            (o, Outcome::Allowlisted) | (Outcome::Allowlisted, o) => o,
            (Outcome::Checked(a), Outcome::Checked(b)) => {
                let delay = a.delay.max(b.delay);
                let mut worst = match (a.allowed, b.allowed) {
                    (true, false) => b,
                    (false, true) => a,
                    (false, false) if b.retry_after > a.retry_after => b,
                    (false, false) => a,
                    (true, true) if b.remaining < a.remaining => b,
                    (true, true) => a,
                };
                if worst.allowed {
                    worst.delay = delay;
                }
                Outcome::Checked(worst)
            }
        };
    }
    Ok(outcome)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
