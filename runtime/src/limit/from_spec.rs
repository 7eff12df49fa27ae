//! The runtime [`Policy`] of a generated `limit` spec, shared by services and gateways.

use super::{AccessList, Algorithm, LimitKey, Policy, Rate};
use crate::spec::{AlgorithmSpec, LimitKeySpec, LimitSpec, RateSpec};
use std::time::Duration;

fn rate(r: &RateSpec) -> Result<Rate, String> {
    Rate::new(r.count, Duration::from_millis(r.per_ms)).map_err(|e| e.to_string())
}

/// The runtime policy of a `limit` spec (adaptive rates are not applied yet).
pub(crate) fn policy_from_spec(spec: &LimitSpec) -> Result<Policy, String> {
    let mut p = Policy::new(spec.name.clone(), rate(&spec.rate)?);
    p.key = match &spec.key {
        LimitKeySpec::Ip => LimitKey::Ip,
        LimitKeySpec::User => LimitKey::User,
        LimitKeySpec::ApiKey => LimitKey::ApiKey,
        LimitKeySpec::Endpoint => LimitKey::Endpoint,
        LimitKeySpec::Global => LimitKey::Global,
        LimitKeySpec::Header(h) => LimitKey::Header(h.clone()),
    };
    p.algorithm = match spec.algorithm {
        AlgorithmSpec::FixedWindow => Algorithm::FixedWindow,
        AlgorithmSpec::SlidingWindow => Algorithm::SlidingWindow,
        AlgorithmSpec::TokenBucket => Algorithm::TokenBucket,
        AlgorithmSpec::LeakyBucket => Algorithm::LeakyBucket,
    };
    p.burst = (spec.burst > 0).then_some(spec.burst);
    p.block = Duration::from_millis(spec.block_ms);
    p.cost = spec.cost.max(1);
    for (tier, r) in &spec.tiers {
        p.tiers.insert(tier.clone(), rate(r)?);
    }
    for (country, r) in &spec.countries {
        if country.eq_ignore_ascii_case("default") {
            p.country_default = Some(rate(r)?);
        } else {
            p.countries.insert(country.clone(), rate(r)?);
        }
    }
    p.allow = AccessList::parse(&spec.allow).map_err(|e| e.to_string())?;
    p.deny = AccessList::parse(&spec.deny).map_err(|e| e.to_string())?;
    Ok(p)
}
