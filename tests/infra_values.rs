//! Every declared value reaches the file where the real system reads it: per example, a
//! few declarations followed into nginx, haproxy, Kubernetes, Redis, RabbitMQ, Kafka, SQL,
//! Prometheus and compose.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn generate(file: &str, tag: &str) -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("infra-values-{tag}"));
    let _ = fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_archc"))
        .arg("generate")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("archc runs");
    assert!(
        status.status.success(),
        "archc generate {file}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    out.join("infra")
}

fn read(infra: &std::path::Path, rel: &str) -> String {
    fs::read_to_string(infra.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn has(text: &str, needle: &str, what: &str) {
    assert!(
        text.contains(needle),
        "{what}: `{needle}` not found in\n{text}"
    );
}

#[test]
fn api_gateway_limits_balancing_and_cors_reach_the_edges() {
    let infra = generate("examples/api-gateway.arch", "api");
    let nginx = read(&infra, "nginx/nginx.conf");
    // per_ip: 100/min sliding window, the whole minute's quota admitted at once.
    has(
        &nginx,
        "zone=api_gateway_limit_per_ip:10m rate=100r/m",
        "per_ip rate",
    );
    has(
        &nginx,
        "limit_req zone=api_gateway_limit_per_ip burst=99 nodelay",
        "per_ip burst",
    );
    has(
        &nginx,
        "198.51.100.0/24 1;",
        "per_ip allow list exempts partners",
    );
    has(&nginx, "rate=1000r/m", "order_quota 1000/min");
    has(&nginx, "least_conn;", "order-service least_connections");
    has(
        &nginx,
        "server payment-service:8083 weight=2",
        "payment weights 2:2:1",
    );
    has(&nginx, "random;", "docs balance = random");
    has(
        &nginx,
        "proxy_read_timeout 30s;",
        "GET /api/v1/users timeout 30s",
    );
    has(
        &nginx,
        "proxy_next_upstream_tries 4;",
        "3 retries = 4 tries",
    );
    has(&nginx, "client_max_body_size 10485760;", "body_limit 10MiB");
    has(
        &nginx,
        "\"https://admin.example.com\" $http_origin;",
        "CORS origin",
    );
    has(
        &nginx,
        "add_header X-Frame-Options \"SAMEORIGIN\" always;",
        "frame = sameorigin",
    );
    has(
        &nginx,
        "$http_authorization",
        "per_user cache key varies on the token",
    );
    let haproxy = read(&infra, "haproxy/haproxy.cfg");
    // signup: 5/h, the exact window in a stick table (nginx cannot go below 1r/m).
    has(&haproxy, "store http_req_rate(1h)", "signup window");
    // 5 in the window plus the default burst of 1.
    has(
        &haproxy,
        "table st_api_gateway_limit_signup if",
        "signup tracked",
    );
    has(
        &haproxy,
        "sc_http_req_rate(1,st_api_gateway_limit_signup) gt 5 }",
        "signup count: 5 a window",
    );
    has(&haproxy, "expire 6h", "signup block 6h");
    has(&haproxy, "balance leastconn", "order-service");
    has(&haproxy, "option httpchk GET /health", "health path");
    has(
        &haproxy,
        "inter 30s fall 3 rise 2",
        "health interval / thresholds",
    );
}

#[test]
fn shop_platform_values_reach_kubernetes_redis_brokers_and_sql() {
    let infra = generate("examples/shop", "shop");
    let hpa = read(&infra, "k8s/catalog/hpa.yaml");
    has(&hpa, "minReplicas: 4", "catalog replicas 4..40");
    has(&hpa, "maxReplicas: 40", "catalog replicas 4..40");
    has(&hpa, "averageUtilization: 65", "autoscale cpu 65%");
    has(&hpa, "stabilizationWindowSeconds: 180", "cooldown 3m");
    has(&hpa, "averageValue: \"600\"", "autoscale rps 600/s");
    let dep = read(&infra, "k8s/catalog/deployment.yaml");
    has(&dep, "maxUnavailable: \"20%\"", "rollout batch 20%");
    has(&dep, "progressDeadlineSeconds: 300", "health_timeout 5m");
    has(&dep, "path: \"/healthz\"", "health path");
    has(&dep, "periodSeconds: 5", "health interval 5s");
    has(&dep, "topology.kubernetes.io/zone", "zone spread");
    has(
        &read(&infra, "k8s/catalog/pdb.yaml"),
        "maxUnavailable: \"20%\"",
        "PDB = rollout batch",
    );
    let backup = read(&infra, "k8s/orders-db-jobs/orders-db-backup.yaml");
    has(&backup, "schedule: \"0 2 * * *\"", "backup full = daily");
    has(&backup, "orders-db-7", "every shard is dumped");
    has(&backup, "tail -n +8", "retain 7 daily dumps");
    let refresh = read(
        &infra,
        "k8s/orders-db-jobs/orders-db-refresh-daily-revenue.yaml",
    );
    has(&refresh, "*/15 * * * *", "view refresh 15m");
    has(
        &refresh,
        "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_revenue",
        "concurrent refresh",
    );

    let products = read(&infra, "redis/products.conf");
    has(
        &products,
        "maxmemory 4000000000",
        "12GB over 3 cluster nodes",
    );
    has(&products, "maxmemory-policy allkeys-lfu", "eviction");
    has(&products, "cluster-enabled yes", "cluster = true");
    has(
        &read(&infra, "redis/carts.conf"),
        "maxmemory-policy volatile-lru",
        "carts eviction",
    );

    let rabbit: serde_json::Value =
        serde_json::from_str(&read(&infra, "rabbitmq/definitions.json")).unwrap();
    let emails = rabbit["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "emails")
        .unwrap();
    assert_eq!(emails["arguments"]["x-max-priority"], 5);
    assert_eq!(emails["arguments"]["x-message-ttl"], 86_400_000);
    assert_eq!(emails["arguments"]["x-max-length"], 500_000);
    assert_eq!(emails["arguments"]["x-dead-letter-exchange"], "emails_dlq");
    let ex = rabbit["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "emails")
        .unwrap();
    assert_eq!(ex["type"], "topic");

    let kafka: serde_json::Value =
        serde_json::from_str(&read(&infra, "kafka/topics.json")).unwrap();
    let topic = |n: &str| {
        kafka["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        topic("product_events")["configs"]["cleanup.policy"],
        "compact"
    );
    assert_eq!(topic("order_events")["partitions"], 12);
    assert_eq!(topic("order_events")["replication_factor"], 3);
    assert_eq!(
        topic("order_events")["configs"]["retention.ms"],
        "604800000"
    );

    let catalog = read(&infra, "sql/catalog_db/001_schema.sql");
    let concurrent = read(&infra, "sql/catalog_db/002_indexes_concurrently.sql");
    has(
        &concurrent,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS products_title_trgm ON products USING gin (title gin_trgm_ops);",
        "gin on text, built concurrently",
    );
    has(
        &catalog,
        "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
        "pg_trgm",
    );
    has(&catalog, "attributes jsonb", "column type");
    let conc = read(&infra, "sql/catalog_db/002_indexes_concurrently.sql");
    has(&conc, "USING gin (title gin_trgm_ops)", "gin on text");
    has(
        &conc,
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS products_sku_unique",
        "unique, concurrently",
    );
    has(&conc, "USING brin (updated_at)", "brin");
    has(
        &conc,
        "INCLUDE (title, rating) WHERE active AND in_stock > 0",
        "partial + include",
    );
    let orders = read(&infra, "sql/orders_db/001_schema.sql");
    has(
        &orders,
        "PARTITION BY RANGE (changed_at)",
        "range partitions",
    );
    has(
        &orders,
        "24 * interval '1 month'",
        "keep 2y of monthly partitions",
    );
    has(
        &orders,
        "USING brin (created_at)",
        "concurrently = false stays in the schema",
    );
    has(
        &orders,
        "PRIMARY KEY (customer_id, order_id)",
        "composite key",
    );
    let oc = read(&infra, "sql/orders_db/002_indexes_concurrently.sql");
    has(&oc, "USING gist (delivery_point)", "gist");
    has(&oc, "USING hash (sku)", "hash");
    has(&oc, "((lower(email)))", "expression index");
    has(
        &read(&infra, "sql/orders_db/003_views.sql"),
        "CREATE MATERIALIZED VIEW IF NOT EXISTS daily_revenue",
        "view",
    );
    has(
        &read(&infra, "sql/orders_db/shards/shard_7.sql"),
        "VALUES (7, 8, 'hash')",
        "per-shard identity",
    );

    let alerts = read(&infra, "prometheus/alerts.yml");
    // 99.95%: budget 0.0005; 14.4x = 0.0072, 6x = 0.003, 1x = 0.0005.
    has(
        &alerts,
        "archc:slo_errors:ratio_rate1h > 0.0072 and archc:slo_errors:ratio_rate5m > 0.0072",
        "fast burn",
    );
    has(
        &alerts,
        "archc:slo_errors:ratio_rate6h > 0.003",
        "slow burn",
    );
    has(
        &alerts,
        "endpoint=\\\"get_product\\\"}[5m]))) > 0.1",
        "route latency 100ms",
    );
    has(
        &alerts,
        "dead_letter_depth{queue=\\\"dead_letters\\\"}",
        "DLQ depth",
    );
    has(
        &alerts,
        "breaker_open{service=\\\"orders\\\"}",
        "breaker open",
    );
    has(
        &alerts,
        "rate_limit_rejections_total{limit=\\\"buyer_writes\\\"}",
        "limit rejections",
    );
    has(
        &alerts,
        "queue_lag_messages{queue=\\\"order_events\\\"}",
        "queue lag",
    );
    let prom = read(&infra, "prometheus/prometheus.yml");
    has(&prom, "\"catalog:8081\"", "scrape catalog");

    let compose = read(&infra, "compose.yaml");
    has(
        &compose,
        "DATABASE_URL_SHARD_7: \"postgres://archc:archc@orders-db-7:5432/orders_db\"",
        "shard URL",
    );
    has(&compose, "AMQP_URL:", "rabbitmq URL for the emails queue");
    // The runtime reads KAFKA_BROKERS for `engine = kafka` queues, built with its kafka feature.
    has(
        &compose,
        "KAFKA_BROKERS: \"kafka:9092\"",
        "kafka brokers for order_events",
    );
    has(
        &compose,
        "FEATURES: \"archc-runtime/kafka\"",
        "image built with the kafka client",
    );
    // The compose broker is one node: its topics have one replica, and writes need only it
    // (topics.json keeps the cluster's replication 3 and min.insync.replicas 2).
    let create = compose
        .lines()
        .find(|l| l.contains("--topic order_events "))
        .expect("compose creates order_events");
    has(create, "--replication-factor 1", "one replica in compose");
    has(
        create,
        "min.insync.replicas=1",
        "writes need the one replica",
    );
    assert!(!create.contains("min.insync.replicas=2"), "{create}");
    has(&compose, "replicas: 3", "orders min replicas");
    has(&compose, "archive_timeout=3600", "incremental backup 1h");
    let nginx = read(&infra, "nginx/nginx.conf");
    has(&nginx, "listen 443 ssl http2;", "tls = true");
    has(
        &nginx,
        "|$http_accept_language",
        "cache vary Accept-Language",
    );
    has(
        &nginx,
        "proxy_cache_valid 200 203 204 301 404 1m;",
        "cache ttl 60s",
    );
}

#[test]
fn timeline_sharding_and_limits() {
    let infra = generate("examples/timeline.arch", "timeline");
    let nginx = read(&infra, "nginx/nginx.conf");
    has(&nginx, "rate=120r/m", "reader 120/min");
    has(&nginx, "rate=1200r/m", "per_ip 1200/min");
    has(
        &nginx,
        "limit_req zone=edge_limit_per_ip burst=100 nodelay",
        "token bucket burst 100",
    );
    let first = read(&infra, "sql/posts_db/shards/shard_0.sql");
    has(&first, "author_id < 50000000", "range shard 0");
    let last = read(&infra, "sql/posts_db/shards/shard_7.sql");
    has(&last, "author_id >= 600000000", "range shard 7");
    has(
        &read(&infra, "sql/users_db/shards/shard_1.sql"),
        "IN ('eu_west')",
        "geo shard 1",
    );
    has(
        &read(&infra, "sql/posts_db/001_schema.sql"),
        "MODULUS 16, REMAINDER 15",
        "hash partitions = 16",
    );
    let hpa = read(&infra, "k8s/fanout/hpa.yaml");
    has(&hpa, "queue_lag_messages", "autoscale on queue depth");
    has(&hpa, "averageValue: \"200000\"", "depth 200k");
    has(&hpa, "stabilizationWindowSeconds: 120", "cooldown 2m");
}

/// `--only infra` rewrites the infra files and nothing else; a user-edited infra file is kept
/// with archc's version beside it as `FILE.new`.
#[test]
fn only_infra_regenerates_just_the_infra_files() {
    let infra = generate("examples/minimal.arch", "only");
    let out = infra.parent().unwrap().to_path_buf();
    let main_rs = out.join("services/greeter/src/main.rs");
    fs::write(&main_rs, "// edited\n").unwrap();
    fs::remove_file(infra.join("prometheus/prometheus.yml")).unwrap();
    fs::write(infra.join("compose.yaml"), "services: {}\n").unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_archc"))
        .arg("generate")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.arch"))
        .arg("-o")
        .arg(&out)
        .args(["--only", "infra"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        infra.join("prometheus/prometheus.yml").exists(),
        "a removed infra file is recreated"
    );
    assert_eq!(
        fs::read_to_string(infra.join("compose.yaml")).unwrap(),
        "services: {}\n"
    );
    assert!(
        read(&infra, "compose.yaml.new").contains("greeter:"),
        "the new version is beside it"
    );
    assert_eq!(
        fs::read_to_string(&main_rs).unwrap(),
        "// edited\n",
        "services are not touched"
    );
}
