//! Tests of the six balancing algorithms and of skipping unhealthy upstreams.

use super::*;
use std::collections::HashMap;

fn ups(ids: &[&str]) -> Vec<Upstream> {
    ids.iter().map(|id| Upstream::new(*id)).collect()
}

fn ids(b: &Balancer, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| b.pick(None).unwrap().upstream().id.clone())
        .collect()
}

fn take_down(b: &Balancer, index: usize) {
    for _ in 0..3 {
        b.record_check(index, false);
    }
    assert!(!b.status()[index].healthy);
}

#[test]
fn construction_refuses_bad_sets() {
    assert_eq!(
        Balancer::new(Algorithm::RoundRobin, vec![]).unwrap_err(),
        BalanceError::NoUpstreams
    );
    let zero = vec![Upstream::weighted("a", 0)];
    assert_eq!(
        Balancer::new(Algorithm::Weighted, zero).unwrap_err(),
        BalanceError::ZeroWeight("a".into())
    );
    let dup = Balancer::new(Algorithm::Weighted, ups(&["a", "a"])).unwrap_err();
    assert!(dup.to_string().contains("twice"));
}

#[test]
fn round_robin_cycles_and_skips_unhealthy() {
    let b = Balancer::new(Algorithm::RoundRobin, ups(&["a", "b", "c"])).unwrap();
    assert_eq!(b.algorithm(), Algorithm::RoundRobin);
    assert_eq!(ids(&b, 4), ["a", "b", "c", "a"]);
    take_down(&b, 2);
    assert_eq!(ids(&b, 4), ["b", "a", "b", "a"]);
    take_down(&b, 0);
    take_down(&b, 1);
    assert!(b.pick(None).is_none());
    b.record_check(0, true);
    assert!(!b.record_check(9, true));
    assert!(b.record_check(0, true));
    assert_eq!(ids(&b, 2), ["a", "a"]);
}

#[test]
fn least_connections_prefers_idle_upstreams_relative_to_weight() {
    let b = Balancer::new(Algorithm::LeastConnections, ups(&["a", "b", "c"])).unwrap();
    let held_a = b.pick(None).unwrap();
    let held_b = b.pick(None).unwrap();
    assert_eq!(
        (held_a.upstream().id.as_str(), held_b.upstream().id.as_str()),
        ("a", "b")
    );
    let c = b.pick(None).unwrap();
    assert_eq!(c.upstream().id, "c");
    drop(held_b);
    assert_eq!(b.pick(None).unwrap().upstream().id, "b");
    assert_eq!(b.status()[0].active, 1);
    drop((held_a, c));
    assert!(b.status().iter().all(|s| s.active == 0));
    // ties rotate instead of always hitting the first
    assert_eq!(ids(&b, 3), ["c", "a", "b"]);

    let weighted = Balancer::new(
        Algorithm::LeastConnections,
        vec![Upstream::weighted("big", 3), Upstream::new("small")],
    )
    .unwrap();
    let held: Vec<_> = (0..4).map(|_| weighted.pick(None).unwrap()).collect();
    let on_big = held.iter().filter(|p| p.upstream().id == "big").count();
    assert_eq!(on_big, 3);
}

#[test]
fn smooth_weighted_round_robin_matches_nginx() {
    let b = Balancer::new(
        Algorithm::Weighted,
        vec![
            Upstream::weighted("a", 5),
            Upstream::weighted("b", 1),
            Upstream::weighted("c", 1),
        ],
    )
    .unwrap();
    assert_eq!(ids(&b, 7), ["a", "a", "b", "a", "c", "a", "a"]);
    assert_eq!(ids(&b, 7), ["a", "a", "b", "a", "c", "a", "a"]);
    take_down(&b, 0);
    let rest = ids(&b, 4);
    assert_eq!(rest.iter().filter(|id| *id == "b").count(), 2);
    assert!(!rest.contains(&"a".to_string()));
}

#[test]
fn ip_hash_is_sticky_and_only_moves_clients_of_a_lost_upstream() {
    let b = Balancer::new(Algorithm::IpHash, ups(&["a", "b", "c", "d"])).unwrap();
    let clients: Vec<IpAddr> = (0..400u32)
        .map(|i| IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]))
        .collect();
    let before: Vec<usize> = clients
        .iter()
        .map(|ip| b.pick(Some(*ip)).unwrap().index())
        .collect();
    let again: Vec<usize> = clients
        .iter()
        .map(|ip| b.pick(Some(*ip)).unwrap().index())
        .collect();
    assert_eq!(before, again);
    let mut counts = HashMap::new();
    for i in &before {
        *counts.entry(*i).or_insert(0) += 1;
    }
    assert!(
        counts.values().all(|&c| (60..140).contains(&c)),
        "{counts:?}"
    );
    take_down(&b, 1);
    for (ip, old) in clients.iter().zip(&before) {
        let new = b.pick(Some(*ip)).unwrap().index();
        if *old == 1 {
            assert_ne!(new, 1);
        } else {
            assert_eq!(new, *old);
        }
    }
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    assert_eq!(
        b.pick(Some(v6)).unwrap().index(),
        b.pick(Some(v6)).unwrap().index()
    );
    // no address: round robin
    assert_eq!(ids(&b, 3), ["a", "c", "d"]);
}

#[test]
fn least_response_time_measures_everyone_then_prefers_the_fastest() {
    let b = Balancer::new(Algorithm::LeastResponseTime, ups(&["a", "b", "c"]))
        .unwrap()
        .with_ewma_alpha(0.5);
    for (expected, ms) in [("a", 30), ("b", 10), ("c", 20)] {
        let p = b.pick(None).unwrap();
        assert_eq!(p.upstream().id, expected);
        p.finish(Duration::from_millis(ms));
    }
    assert_eq!(ids(&b, 2), ["b", "b"]);
    // b slows down: 0.5·50 + 0.5·10 = 30ms, now c (20ms) is fastest
    b.pick(None).unwrap().finish(Duration::from_millis(50));
    assert_eq!(b.status()[1].ewma, Some(Duration::from_millis(30)));
    let held = b.pick(None).unwrap();
    assert_eq!(held.upstream().id, "c");
    // with c busy, its score doubles to 40ms: a and b tie at 30ms, taken in turn
    assert_eq!(ids(&b, 1), ["a"]);
    drop(held);
}

#[test]
fn random_is_seeded_uniform_and_healthy_only() {
    let make = || {
        Balancer::new(Algorithm::Random, ups(&["a", "b", "c", "d"]))
            .unwrap()
            .with_seed(7)
            .with_health(HealthPolicy {
                healthy_after: 1,
                unhealthy_after: 1,
            })
    };
    let (x, y) = (make(), make());
    assert_eq!(ids(&x, 50), ids(&y, 50));
    let picks = ids(&x, 4_000);
    for id in ["a", "b", "c", "d"] {
        let n = picks.iter().filter(|p| *p == id).count();
        assert!((850..1150).contains(&n), "{id}: {n}");
    }
    x.record_check(3, false);
    assert!(ids(&x, 200).iter().all(|id| id != "d"));
}
