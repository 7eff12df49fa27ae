//! Tests of the shard router (hash, range, directory, geo, broadcast) and of routing ids.

use super::*;
use crate::clock::ManualClock;
use crate::rng::XorShift64;
use std::time::Duration;

fn int(v: i64) -> ShardKey {
    ShardKey::Int(v)
}

#[test]
fn hash_routes_stably_and_spreads_over_every_shard() {
    let r = ShardRouter::new(8, Strategy::Hash).unwrap();
    let mut counts = [0u32; 8];
    for id in 0..8_000 {
        let s = r.shard_for(&int(id)).unwrap();
        assert_eq!(r.shard_for(&int(id)).unwrap(), s);
        counts[s as usize] += 1;
    }
    assert!(counts.iter().all(|c| (850..1150).contains(c)), "{counts:?}");
    let text = r.shard_for(&"user-42".into()).unwrap();
    assert_eq!(r.route(Some(&"user-42".into())).unwrap(), Route::One(text));
}

#[test]
fn adding_a_shard_moves_keys_only_to_the_new_shard() {
    let (four, five) = (
        ShardRouter::new(4, Strategy::Hash).unwrap(),
        ShardRouter::new(5, Strategy::Hash).unwrap(),
    );
    let mut moved = 0;
    for id in 0..10_000 {
        let (a, b) = (
            four.shard_for(&int(id)).unwrap(),
            five.shard_for(&int(id)).unwrap(),
        );
        if a != b {
            assert_eq!(b, 4);
            moved += 1;
        }
    }
    assert!((1_800..2_200).contains(&moved), "{moved}");
}

#[test]
fn range_boundaries_are_lower_inclusive() {
    let r = ShardRouter::new(3, Strategy::Range(vec![int(100), int(200)])).unwrap();
    let shards: Vec<u32> = [-5, 99, 100, 199, 200, i64::MAX]
        .iter()
        .map(|v| r.shard_for(&int(*v)).unwrap())
        .collect();
    assert_eq!(shards, [0, 0, 1, 1, 2, 2]);
    assert_eq!(
        r.shard_for(&"x".into()),
        Err(ShardError::KeyType("x".into()))
    );
    let text = ShardRouter::new(3, Strategy::Range(vec!["h".into(), "p".into()])).unwrap();
    assert_eq!(text.shard_for(&"alice".into()), Ok(0));
    assert_eq!(text.shard_for(&"mallory".into()), Ok(1));
    assert_eq!(text.shard_for(&"zed".into()), Ok(2));
    let single = ShardRouter::new(1, Strategy::Range(vec![])).unwrap();
    assert_eq!(single.shard_for(&int(7)), Ok(0));
}

#[test]
fn bad_routers_are_refused() {
    let range = |b: Vec<ShardKey>, n| ShardRouter::new(n, Strategy::Range(b)).unwrap_err();
    assert_eq!(range(vec![int(2), int(1)], 3), ShardError::Boundaries);
    assert_eq!(range(vec![int(1), int(1)], 3), ShardError::Boundaries);
    assert_eq!(range(vec![int(1), "a".into()], 3), ShardError::Boundaries);
    assert_eq!(range(vec![int(1)], 3), ShardError::ShardCount(3));
    assert_eq!(
        ShardRouter::new(0, Strategy::Hash).unwrap_err(),
        ShardError::ShardCount(0)
    );
    assert!(ShardRouter::new(1_025, Strategy::Hash).is_err());
    assert!(ShardRouter::new(1_024, Strategy::Hash).is_ok());
    let geo = Strategy::Geo([("us".to_string(), 2)].into(), None);
    assert_eq!(
        ShardRouter::new(2, geo).unwrap_err(),
        ShardError::NoSuchShard(2)
    );
    let dir = Strategy::Directory(Arc::new(MemoryDirectory::default()), Some(5));
    assert_eq!(
        ShardRouter::new(2, dir).unwrap_err(),
        ShardError::NoSuchShard(5)
    );
    for e in [
        ShardError::ShardCount(0),
        ShardError::Boundaries,
        ShardError::NoSuchShard(1),
        ShardError::KeyType(int(1)),
        ShardError::Unmapped(int(1)),
    ] {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn directory_looks_up_with_a_default_and_can_move_keys() {
    let dir = Arc::new(MemoryDirectory::new([("acme".to_string(), 2)]));
    let r = ShardRouter::new(4, Strategy::Directory(dir.clone(), Some(0))).unwrap();
    assert_eq!(r.shard_for(&"acme".into()), Ok(2));
    assert_eq!(r.shard_for(&"globex".into()), Ok(0));
    dir.assign("globex", 3);
    assert_eq!(r.shard_for(&"globex".into()), Ok(3));
    dir.assign("42", 1);
    assert_eq!(r.shard_for(&int(42)), Ok(1));
    dir.assign("stale", 9);
    assert_eq!(
        r.shard_for(&"stale".into()),
        Err(ShardError::NoSuchShard(9))
    );
    let strict = ShardRouter::new(4, Strategy::Directory(dir, None)).unwrap();
    assert_eq!(
        strict.shard_for(&"nobody".into()),
        Err(ShardError::Unmapped("nobody".into()))
    );
}

#[test]
fn geo_maps_regions_in_normal_form() {
    let map = [("us".to_string(), 0), ("EU-West".to_string(), 1)].into();
    let r = ShardRouter::new(3, Strategy::Geo(map, Some(2))).unwrap();
    assert_eq!(r.shard_for(&"US".into()), Ok(0));
    assert_eq!(r.shard_for(&"eu_west".into()), Ok(1));
    assert_eq!(r.shard_for(&"eu-west".into()), Ok(1));
    assert_eq!(r.shard_for(&"ap".into()), Ok(2));
    let strict = ShardRouter::new(3, Strategy::Geo(BTreeMap::new(), None)).unwrap();
    assert!(strict.shard_for(&"ap".into()).is_err());
}

#[test]
fn queries_without_a_key_are_broadcast() {
    let r = ShardRouter::new(3, Strategy::Hash).unwrap();
    assert_eq!(r.shards(), 3);
    assert_eq!(r.route(None).unwrap(), Route::Broadcast(vec![0, 1, 2]));
}

#[test]
fn ids_route_to_the_shard_that_made_them() {
    let clock = Arc::new(ManualClock::at_2024());
    let r = ShardRouter::new(4, Strategy::Hash).unwrap();
    for shard in 0..4u16 {
        let sf = Snowflake::new(shard, snowflake::DEFAULT_EPOCH_MS, clock.clone()).unwrap();
        let id = sf.next_id().unwrap();
        assert_eq!(r.shard_of_id::<Snowflake>(&id), Ok(u32::from(shard)));
        let ul = UlidGenerator::new(shard, clock.clone(), XorShift64::new(1)).unwrap();
        let id = ul.next_id().unwrap();
        assert_eq!(r.shard_of_id::<UlidGenerator>(&id), Ok(u32::from(shard)));
    }
    let far = Snowflake::new(9, 0, clock.clone())
        .unwrap()
        .next_id()
        .unwrap();
    assert_eq!(
        r.shard_of_id::<Snowflake>(&far),
        Err(ShardError::NoSuchShard(9))
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(int(5).to_string(), "5");
    assert_eq!(ShardKey::from(5i64), int(5));
    for e in [
        IdError::ShardOutOfRange(2_000),
        IdError::ClockBeforeEpoch,
        IdError::TimestampOverflow,
        IdError::BadUlid("x".into()),
    ] {
        assert!(!e.to_string().is_empty());
    }
}
