//! Tests of policies and the limiter: keys, tiers, countries, allow/deny lists, adaptive rates,
//! several policies at once.

use super::*;
use crate::clock::ManualClock;
use crate::limit::{MemoryStore, Signal};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn limiter(policy: Policy) -> (Limiter, ManualClock) {
    let clock = ManualClock::at_2024();
    let l = Limiter::new(
        policy,
        Arc::new(MemoryStore::new()),
        Arc::new(clock.clone()),
    )
    .unwrap();
    (l, clock)
}

async fn admitted(l: &Limiter, req: &RequestInfo, n: usize) -> usize {
    let mut count = 0;
    for _ in 0..n {
        count += usize::from(l.check(req).await.unwrap().allowed());
    }
    count
}

#[tokio::test]
async fn per_ip_token_bucket_refuses_after_the_burst_with_headers() {
    let mut p = Policy::new("per_ip", Rate::per_minute(100));
    p.burst = Some(20);
    let (l, clock) = limiter(p);
    let a = RequestInfo::new("GET /").with_ip(ip("203.0.113.1"));
    assert_eq!(admitted(&l, &a, 20).await, 20);
    let refused = l.check(&a).await.unwrap();
    let d = *refused.decision().unwrap();
    assert!(!d.allowed);
    assert_eq!(d.retry_after, Duration::from_millis(600));
    let headers = d.headers();
    assert!(headers.contains(&("Retry-After", "1".to_string())));
    assert!(headers.contains(&("RateLimit-Limit", "20".to_string())));
    // another client is unaffected
    let b = RequestInfo::new("GET /").with_ip(ip("203.0.113.2"));
    assert!(l.check(&b).await.unwrap().allowed());
    clock.advance(Duration::from_millis(600));
    assert!(l.check(&a).await.unwrap().allowed());
}

#[tokio::test]
async fn default_burst_means_the_second_immediate_request_is_refused() {
    let (l, _) = limiter(Policy::new("slow", Rate::per_minute(100)));
    let a = RequestInfo::new("GET /").with_ip(ip("10.0.0.1"));
    assert_eq!(admitted(&l, &a, 2).await, 1);
}

#[test]
fn keys_fall_back_to_the_ip_when_missing() {
    let req = RequestInfo::new("GET /x")
        .with_ip(ip("10.0.0.1"))
        .with_header("X-Tenant", "acme");
    assert_eq!(LimitKey::User.extract(&req), "ip:10.0.0.1");
    assert_eq!(LimitKey::ApiKey.extract(&req), "ip:10.0.0.1");
    assert_eq!(
        LimitKey::Header("x-tenant".into()).extract(&req),
        "header:x-tenant:acme"
    );
    assert_eq!(
        LimitKey::Header("X-Other".into()).extract(&req),
        "ip:10.0.0.1"
    );
    assert_eq!(LimitKey::Endpoint.extract(&req), "endpoint:GET /x");
    assert_eq!(LimitKey::Global.extract(&req), "global");
    let req = req.with_user("u1").with_api_key("k1");
    assert_eq!(LimitKey::User.extract(&req), "user:u1");
    assert_eq!(LimitKey::ApiKey.extract(&req), "api_key:k1");
    assert_eq!(LimitKey::Ip.extract(&RequestInfo::new("/")), "ip:unknown");
    assert_eq!(RequestInfo::new("/").with_user("").ip_key(), "ip:unknown");
}

#[tokio::test]
async fn user_key_counts_per_user_across_addresses() {
    let mut p = Policy::new("per_user", Rate::per_minute(2));
    p.key = LimitKey::User;
    p.algorithm = Algorithm::SlidingWindow;
    let (l, _) = limiter(p);
    let from = |addr: &str| {
        RequestInfo::new("POST /o")
            .with_ip(ip(addr))
            .with_user("alice")
    };
    assert!(l.check(&from("10.0.0.1")).await.unwrap().allowed());
    assert!(l.check(&from("10.0.0.2")).await.unwrap().allowed());
    assert!(!l.check(&from("10.0.0.3")).await.unwrap().allowed());
    assert_eq!(l.key_for(&from("10.0.0.3")), "per_user:user:alice");
}

#[tokio::test]
async fn tiers_give_plans_their_own_rates() {
    let mut p = Policy::new("plans", Rate::per_minute(1));
    p.key = LimitKey::ApiKey;
    p.algorithm = Algorithm::FixedWindow;
    p.tiers.insert("pro".into(), Rate::per_minute(5));
    let tiers = TierMap([("k-pro".to_string(), "pro".to_string())].into());
    let (l, _) = limiter(p);
    let l = l.with_tiers(Arc::new(tiers));
    let pro = RequestInfo::new("/").with_api_key("k-pro");
    let unknown = RequestInfo::new("/").with_api_key("k-other");
    assert_eq!(l.rate_for(&pro), Rate::per_minute(5));
    assert_eq!(admitted(&l, &pro, 10).await, 5);
    assert_eq!(admitted(&l, &unknown, 10).await, 1);
}

#[tokio::test]
async fn countries_have_rates_with_a_default() {
    let mut p = Policy::new("geo", Rate::per_minute(100));
    p.algorithm = Algorithm::FixedWindow;
    p.countries.insert("us".into(), Rate::per_minute(3));
    p.country_default = Some(Rate::per_minute(1));
    let (l, _) = limiter(p);
    assert_eq!(l.policy().countries.keys().collect::<Vec<_>>(), ["US"]);
    let us = RequestInfo::new("/")
        .with_ip(ip("10.0.0.1"))
        .with_country("US");
    let fr = RequestInfo::new("/")
        .with_ip(ip("10.0.0.2"))
        .with_country("fr");
    let unknown = RequestInfo::new("/").with_ip(ip("10.0.0.3"));
    assert_eq!(admitted(&l, &us, 5).await, 3);
    assert_eq!(admitted(&l, &fr, 5).await, 1);
    assert_eq!(l.rate_for(&unknown), Rate::per_minute(1));
}

#[tokio::test]
async fn deny_refuses_allow_exempts_and_deny_wins() {
    let mut p = Policy::new("lists", Rate::per_minute(1));
    p.deny = AccessList::parse(["198.51.100.0/24", "KP"]).unwrap();
    p.allow = AccessList::parse(["10.0.0.0/8", "198.51.100.7"]).unwrap();
    let (l, _) = limiter(p);
    let internal = RequestInfo::new("/").with_ip(ip("10.1.1.1"));
    assert_eq!(l.check(&internal).await.unwrap(), Outcome::Allowlisted);
    assert_eq!(admitted(&l, &internal, 50).await, 50);
    let both = RequestInfo::new("/").with_ip(ip("198.51.100.7"));
    assert_eq!(l.check(&both).await.unwrap(), Outcome::Denylisted);
    let kp = RequestInfo::new("/")
        .with_ip(ip("8.8.8.8"))
        .with_country("kp");
    assert!(!l.check(&kp).await.unwrap().allowed());
    assert!(l.check(&kp).await.unwrap().decision().is_none());
}

#[tokio::test]
async fn adaptive_scales_the_rate_under_pressure() {
    let mut p = Policy::new("adaptive", Rate::per_minute(10));
    p.algorithm = Algorithm::FixedWindow;
    let adaptive = Arc::new(AdaptiveRate::new(
        p.rate,
        Rate::per_minute(2),
        Rate::per_minute(20),
        Signal::Errors,
    ));
    let (l, _) = limiter(p);
    let l = l.with_adaptive(adaptive.clone());
    let req = RequestInfo::new("/").with_ip(ip("10.0.0.1"));
    adaptive.observe(0.10, 0.05); // errors at twice the acceptable ratio
    assert_eq!(l.rate_for(&req), Rate::per_minute(5));
    assert_eq!(admitted(&l, &req, 10).await, 5);
}

#[test]
fn invalid_policies_are_refused() {
    let base = Policy::new("p", Rate::per_minute(10));
    let with = |f: fn(&mut Policy)| {
        let mut p = base.clone();
        f(&mut p);
        p.validate().unwrap_err()
    };
    assert_eq!(with(|p| p.cost = 0), PolicyError::ZeroCost);
    assert_eq!(with(|p| p.burst = Some(0)), PolicyError::ZeroBurst);
    assert_eq!(
        with(|p| p.cost = 2),
        PolicyError::CostAboveQuota { cost: 2, quota: 1 }
    );
    assert_eq!(
        with(|p| {
            p.tiers.insert("x".into(), Rate::per_minute(1));
        }),
        PolicyError::TiersNeedApiKey
    );
    assert_eq!(
        with(|p| {
            p.countries.insert("USA".into(), Rate::per_minute(1));
        }),
        PolicyError::BadCountry("USA".into())
    );
    for e in [
        PolicyError::ZeroCost,
        PolicyError::ZeroBurst,
        PolicyError::TiersNeedApiKey,
    ] {
        assert!(!e.to_string().is_empty());
    }
    let mut ok = base;
    ok.algorithm = Algorithm::FixedWindow;
    ok.cost = 10;
    assert!(ok.validate().is_ok());
}

#[tokio::test]
async fn check_all_returns_the_most_restrictive() {
    let clock = ManualClock::at_2024();
    let store: Arc<dyn LimiterStore> = Arc::new(MemoryStore::new());
    let make = |name: &str, rate: Rate| {
        let mut p = Policy::new(name, rate);
        p.algorithm = Algorithm::FixedWindow;
        Limiter::new(p, store.clone(), Arc::new(clock.clone())).unwrap()
    };
    let loose = make("loose", Rate::per_minute(10));
    let tight = make("tight", Rate::per_hour(2));
    let limiters = [loose, tight];
    let req = RequestInfo::new("/").with_ip(ip("10.0.0.1"));
    let first = check_all(&limiters, &req).await.unwrap();
    assert_eq!(first.decision().unwrap().remaining, 1);
    assert!(check_all(&limiters, &req).await.unwrap().allowed());
    let refused = *check_all(&limiters, &req)
        .await
        .unwrap()
        .decision()
        .unwrap();
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after, Duration::from_secs(3_600));
    assert_eq!(check_all(&[], &req).await.unwrap(), Outcome::Allowlisted);
}
