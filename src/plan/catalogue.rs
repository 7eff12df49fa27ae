//! The price catalogue: instance, database, cache and broker classes with their prices,
//! sizes and availability, plus the planning defaults (`plan-model.md` §8).
//!
//! This module owns loading the built-in catalogue (`catalogue.toml`, compiled in), merging
//! a user's `--pricing FILE.toml` into it key by key, and looking classes up by name. Sizes
//! and durations written with units in the TOML (`"8GB"`, `"0.5ms"`) are held here as plain
//! numbers: bytes, bytes per second and milliseconds. Percentages stay percentages.
//!
//! Invariants: no I/O (the caller reads the user's file and passes its text), no panics on
//! user input (every problem is a [`CatalogueError`] naming the key), deterministic order
//! (classes live in `BTreeMap`s).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// The built-in catalogue text, checked by a unit test.
const BUILTIN_TOML: &str = include_str!("catalogue.toml");

/// `source` given to a class that a user's pricing file adds or changes without a `source`.
const USER_SOURCE: &str = "user pricing file";

/// The four class sections, in file order.
const CLASS_SECTIONS: [&str; 4] = ["instances", "databases", "caches", "brokers"];

/// Every price, size and default the planner uses (`plan-model.md` §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// Currency of every price, e.g. `"USD"`.
    pub currency: String,
    /// Hours billed per month (730).
    pub hours_per_month: f64,
    /// Planning defaults used when a program does not say.
    pub defaults: Defaults,
    /// Instance classes for services and gateways, by name.
    pub instances: BTreeMap<String, InstanceClass>,
    /// Database node classes, by name.
    pub databases: BTreeMap<String, DatabaseClass>,
    /// Cache node classes, by name.
    pub caches: BTreeMap<String, CacheClass>,
    /// Message broker classes, by name.
    pub brokers: BTreeMap<String, BrokerClass>,
    /// Storage prices.
    pub storage: Storage,
    /// Network transfer prices.
    pub network: Network,
}

/// Planning defaults (`[defaults]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Defaults {
    /// Target CPU utilisation, percent (70 means 70%).
    pub target_utilization: f64,
    /// Availability of one region, percent.
    pub region_availability: f64,
    /// Memory overhead per cached entry, bytes.
    pub entry_overhead_bytes: f64,
    /// Latency added per synchronous network hop, milliseconds.
    pub hop_latency_ms: f64,
    /// Sustained throughput of one queue partition, bytes per second.
    pub partition_throughput_bytes_per_s: f64,
    /// Work per request of a gateway that declares none, milliseconds.
    pub gateway_work_ms: f64,
    /// Availability of an instance whose class states none, percent.
    pub instance_availability: f64,
}

/// An instance class for services and gateways (`[instances.NAME]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceClass {
    /// Virtual CPUs: the `c` servers of the M/M/c model.
    pub vcpu: u32,
    /// Memory, bytes.
    pub memory_bytes: f64,
    /// Price per hour, in the catalogue currency.
    pub hourly: f64,
    /// Availability of one instance, percent (e.g. 99.5).
    pub availability: f64,
    /// Where the figures come from and when they were recorded.
    pub source: String,
}

/// A database node class (`[databases.NAME]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseClass {
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory, bytes.
    pub memory_bytes: f64,
    /// Price per node-hour, in the catalogue currency.
    pub hourly: f64,
    /// Reads per second one node serves.
    pub reads_per_s: f64,
    /// Writes per second one node accepts.
    pub writes_per_s: f64,
    /// Largest data size one node holds, bytes.
    pub storage_max_bytes: f64,
    /// Availability of one node, percent.
    pub availability: f64,
    /// Where the figures come from and when they were recorded.
    pub source: String,
}

/// A cache node class (`[caches.NAME]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheClass {
    /// Memory of one node, bytes.
    pub memory_bytes: f64,
    /// Price per node-hour, in the catalogue currency.
    pub hourly: f64,
    /// Availability of one node, percent.
    pub availability: f64,
    /// Where the figures come from and when they were recorded.
    pub source: String,
}

/// A message broker class (`[brokers.NAME]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerClass {
    /// Price per broker-hour, in the catalogue currency.
    pub hourly: f64,
    /// Availability of one broker, percent.
    pub availability: f64,
    /// Sustained ingress one broker carries, bytes per second.
    pub throughput_bytes_per_s: f64,
    /// Where the figures come from and when they were recorded.
    pub source: String,
}

/// Storage prices (`[storage]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Storage {
    /// Block (SSD) storage, per GB-month.
    pub ssd_gb_month: f64,
    /// Object storage, per GB-month.
    pub object_gb_month: f64,
    /// Where the prices come from and when they were recorded.
    pub source: String,
}

/// Network transfer prices (`[network]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Data transfer out to the internet, per GB.
    pub egress_gb: f64,
    /// CDN delivery, per GB.
    pub cdn_gb: f64,
    /// Where the prices come from and when they were recorded.
    pub source: String,
}

/// A problem in a pricing catalogue: which key is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueError {
    /// Dotted path of the offending key (e.g. `instances."m7i.large".hourly`); `None` when
    /// the text is not valid TOML at all.
    pub key: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "pricing catalogue, key `{key}`: {}", self.message),
            None => write!(f, "pricing catalogue: {}", self.message),
        }
    }
}

impl std::error::Error for CatalogueError {}

impl Catalogue {
    /// The built-in catalogue compiled from `catalogue.toml`.
    pub fn builtin() -> Catalogue {
        // The built-in file is part of the program and a unit test proves it parses, so a
        // failure here is a build defect, not a user error.
        Catalogue::from_toml(BUILTIN_TOML).expect("the built-in catalogue.toml must parse")
    }

    /// Parses a complete catalogue (every section present) from TOML text.
    pub fn from_toml(text: &str) -> Result<Catalogue, CatalogueError> {
        Catalogue::from_table(&parse_table(text)?)
    }

    /// This catalogue with a user's pricing file merged in key by key: the user's values
    /// replace these, classes the user adds are added, everything else is kept. A class or
    /// price table the user sets without a `source` gets one naming the user's file.
    pub fn merged(&self, user_toml: &str) -> Result<Catalogue, CatalogueError> {
        let mut user = parse_table(user_toml)?;
        let mut base = self.to_table();
        stamp_user_sources(&mut user, &base);
        deep_merge(&mut base, user);
        Catalogue::from_table(&base)
    }

    /// The instance class called `name`.
    pub fn instance(&self, name: &str) -> Option<&InstanceClass> {
        self.instances.get(name)
    }

    /// The database class called `name`.
    pub fn database(&self, name: &str) -> Option<&DatabaseClass> {
        self.databases.get(name)
    }

    /// The cache class called `name`.
    pub fn cache(&self, name: &str) -> Option<&CacheClass> {
        self.caches.get(name)
    }

    /// The broker class called `name`.
    pub fn broker(&self, name: &str) -> Option<&BrokerClass> {
        self.brokers.get(name)
    }

    /// Names of the instance classes, sorted.
    pub fn instance_names(&self) -> Vec<&str> {
        self.instances.keys().map(String::as_str).collect()
    }

    /// Names of the database classes, sorted.
    pub fn database_names(&self) -> Vec<&str> {
        self.databases.keys().map(String::as_str).collect()
    }

    /// Names of the cache classes, sorted.
    pub fn cache_names(&self) -> Vec<&str> {
        self.caches.keys().map(String::as_str).collect()
    }

    /// Names of the broker classes, sorted.
    pub fn broker_names(&self) -> Vec<&str> {
        self.brokers.keys().map(String::as_str).collect()
    }

    /// The instance class name closest to `name` by edit distance (case-insensitive), for a
    /// "did you mean" hint; `None` when nothing is within max(2, len/3) edits.
    pub fn closest_instance(&self, name: &str) -> Option<&str> {
        closest_name(name, self.instances.keys().map(String::as_str))
    }

    /// The database class name closest to `name`, as [`Catalogue::closest_instance`].
    pub fn closest_database(&self, name: &str) -> Option<&str> {
        closest_name(name, self.databases.keys().map(String::as_str))
    }

    /// The cache class name closest to `name`, as [`Catalogue::closest_instance`].
    pub fn closest_cache(&self, name: &str) -> Option<&str> {
        closest_name(name, self.caches.keys().map(String::as_str))
    }

    /// The broker class name closest to `name`, as [`Catalogue::closest_instance`].
    pub fn closest_broker(&self, name: &str) -> Option<&str> {
        closest_name(name, self.brokers.keys().map(String::as_str))
    }

    /// Reads a whole catalogue from a TOML table, checking every key.
    fn from_table(table: &Table) -> Result<Catalogue, CatalogueError> {
        let root = Reader::root(table);
        root.only_keys(&[
            "currency",
            "hours_per_month",
            "defaults",
            "instances",
            "databases",
            "caches",
            "brokers",
            "storage",
            "network",
        ])?;
        let currency = root.string("currency")?.to_string();
        let hours_per_month = root.positive("hours_per_month")?;
        let defaults = read_defaults(&root.table("defaults")?)?;

        let mut instances = BTreeMap::new();
        for (name, class) in root.table("instances")?.classes()? {
            instances.insert(name.to_string(), read_instance(&class, &defaults)?);
        }
        let mut databases = BTreeMap::new();
        for (name, class) in root.table("databases")?.classes()? {
            databases.insert(name.to_string(), read_database(&class)?);
        }
        let mut caches = BTreeMap::new();
        for (name, class) in root.table("caches")?.classes()? {
            caches.insert(name.to_string(), read_cache(&class)?);
        }
        let mut brokers = BTreeMap::new();
        for (name, class) in root.table("brokers")?.classes()? {
            brokers.insert(name.to_string(), read_broker(&class)?);
        }

        let storage = root.table("storage")?;
        storage.only_keys(&["ssd_gb_month", "object_gb_month", "source"])?;
        let storage = Storage {
            ssd_gb_month: storage.non_negative("ssd_gb_month")?,
            object_gb_month: storage.non_negative("object_gb_month")?,
            source: storage.string("source")?.to_string(),
        };
        let network = root.table("network")?;
        network.only_keys(&["egress_gb", "cdn_gb", "source"])?;
        let network = Network {
            egress_gb: network.non_negative("egress_gb")?,
            cdn_gb: network.non_negative("cdn_gb")?,
            source: network.string("source")?.to_string(),
        };

        Ok(Catalogue {
            currency,
            hours_per_month,
            defaults,
            instances,
            databases,
            caches,
            brokers,
            storage,
            network,
        })
    }

    /// This catalogue as a TOML table in the file's own shape (sizes and durations as unit
    /// strings), the base onto which a user's file is merged. An instance class whose
    /// availability equals `defaults.instance_availability` is written without one, so that
    /// a user who changes the default changes it for those classes too.
    fn to_table(&self) -> Table {
        let mut root = Table::new();
        root.insert("currency".into(), Value::String(self.currency.clone()));
        root.insert("hours_per_month".into(), Value::Float(self.hours_per_month));

        let d = &self.defaults;
        let mut defaults = Table::new();
        defaults.insert(
            "target_utilization".into(),
            Value::Float(d.target_utilization),
        );
        defaults.insert(
            "region_availability".into(),
            Value::Float(d.region_availability),
        );
        defaults.insert("entry_overhead".into(), size_value(d.entry_overhead_bytes));
        defaults.insert("hop_latency".into(), duration_value(d.hop_latency_ms));
        defaults.insert(
            "partition_throughput".into(),
            size_value(d.partition_throughput_bytes_per_s),
        );
        defaults.insert("gateway_work".into(), duration_value(d.gateway_work_ms));
        defaults.insert(
            "instance_availability".into(),
            Value::Float(d.instance_availability),
        );
        root.insert("defaults".into(), Value::Table(defaults));

        let mut instances = Table::new();
        for (name, class) in &self.instances {
            let mut t = Table::new();
            t.insert("vcpu".into(), Value::Integer(i64::from(class.vcpu)));
            t.insert("memory".into(), size_value(class.memory_bytes));
            t.insert("hourly".into(), Value::Float(class.hourly));
            if class.availability != d.instance_availability {
                t.insert("availability".into(), Value::Float(class.availability));
            }
            t.insert("source".into(), Value::String(class.source.clone()));
            instances.insert(name.clone(), Value::Table(t));
        }
        root.insert("instances".into(), Value::Table(instances));

        let mut databases = Table::new();
        for (name, class) in &self.databases {
            let mut t = Table::new();
            t.insert("vcpu".into(), Value::Integer(i64::from(class.vcpu)));
            t.insert("memory".into(), size_value(class.memory_bytes));
            t.insert("hourly".into(), Value::Float(class.hourly));
            t.insert("reads_per_s".into(), Value::Float(class.reads_per_s));
            t.insert("writes_per_s".into(), Value::Float(class.writes_per_s));
            t.insert("storage_max".into(), size_value(class.storage_max_bytes));
            t.insert("availability".into(), Value::Float(class.availability));
            t.insert("source".into(), Value::String(class.source.clone()));
            databases.insert(name.clone(), Value::Table(t));
        }
        root.insert("databases".into(), Value::Table(databases));

        let mut caches = Table::new();
        for (name, class) in &self.caches {
            let mut t = Table::new();
            t.insert("memory".into(), size_value(class.memory_bytes));
            t.insert("hourly".into(), Value::Float(class.hourly));
            t.insert("availability".into(), Value::Float(class.availability));
            t.insert("source".into(), Value::String(class.source.clone()));
            caches.insert(name.clone(), Value::Table(t));
        }
        root.insert("caches".into(), Value::Table(caches));

        let mut brokers = Table::new();
        for (name, class) in &self.brokers {
            let mut t = Table::new();
            t.insert("hourly".into(), Value::Float(class.hourly));
            t.insert("availability".into(), Value::Float(class.availability));
            t.insert(
                "throughput".into(),
                size_value(class.throughput_bytes_per_s),
            );
            t.insert("source".into(), Value::String(class.source.clone()));
            brokers.insert(name.clone(), Value::Table(t));
        }
        root.insert("brokers".into(), Value::Table(brokers));

        let mut storage = Table::new();
        storage.insert(
            "ssd_gb_month".into(),
            Value::Float(self.storage.ssd_gb_month),
        );
        storage.insert(
            "object_gb_month".into(),
            Value::Float(self.storage.object_gb_month),
        );
        storage.insert("source".into(), Value::String(self.storage.source.clone()));
        root.insert("storage".into(), Value::Table(storage));

        let mut network = Table::new();
        network.insert("egress_gb".into(), Value::Float(self.network.egress_gb));
        network.insert("cdn_gb".into(), Value::Float(self.network.cdn_gb));
        network.insert("source".into(), Value::String(self.network.source.clone()));
        root.insert("network".into(), Value::Table(network));

        root
    }
}

fn read_defaults(t: &Reader<'_>) -> Result<Defaults, CatalogueError> {
    t.only_keys(&[
        "target_utilization",
        "region_availability",
        "entry_overhead",
        "hop_latency",
        "partition_throughput",
        "gateway_work",
        "instance_availability",
    ])?;
    Ok(Defaults {
        target_utilization: t.percent("target_utilization")?,
        region_availability: t.percent("region_availability")?,
        entry_overhead_bytes: t.size("entry_overhead")?,
        hop_latency_ms: t.duration_ms("hop_latency")?,
        partition_throughput_bytes_per_s: t.rate("partition_throughput")?,
        gateway_work_ms: t.duration_ms("gateway_work")?,
        instance_availability: t.percent("instance_availability")?,
    })
}

fn read_instance(t: &Reader<'_>, defaults: &Defaults) -> Result<InstanceClass, CatalogueError> {
    t.only_keys(&["vcpu", "memory", "hourly", "availability", "source"])?;
    let availability = match t.get("availability") {
        Some(_) => t.percent("availability")?,
        None => defaults.instance_availability,
    };
    Ok(InstanceClass {
        vcpu: t.count("vcpu")?,
        memory_bytes: positive_size(t, "memory")?,
        hourly: t.non_negative("hourly")?,
        availability,
        source: t.string("source")?.to_string(),
    })
}

fn read_database(t: &Reader<'_>) -> Result<DatabaseClass, CatalogueError> {
    t.only_keys(&[
        "vcpu",
        "memory",
        "hourly",
        "reads_per_s",
        "writes_per_s",
        "storage_max",
        "availability",
        "source",
    ])?;
    Ok(DatabaseClass {
        vcpu: t.count("vcpu")?,
        memory_bytes: positive_size(t, "memory")?,
        hourly: t.non_negative("hourly")?,
        reads_per_s: t.positive("reads_per_s")?,
        writes_per_s: t.positive("writes_per_s")?,
        storage_max_bytes: positive_size(t, "storage_max")?,
        availability: t.percent("availability")?,
        source: t.string("source")?.to_string(),
    })
}

fn read_cache(t: &Reader<'_>) -> Result<CacheClass, CatalogueError> {
    t.only_keys(&["memory", "hourly", "availability", "source"])?;
    Ok(CacheClass {
        memory_bytes: positive_size(t, "memory")?,
        hourly: t.non_negative("hourly")?,
        availability: t.percent("availability")?,
        source: t.string("source")?.to_string(),
    })
}

fn read_broker(t: &Reader<'_>) -> Result<BrokerClass, CatalogueError> {
    t.only_keys(&["hourly", "availability", "throughput", "source"])?;
    let throughput = t.rate("throughput")?;
    if throughput <= 0.0 {
        return Err(t.error("throughput", "must be more than zero"));
    }
    Ok(BrokerClass {
        hourly: t.non_negative("hourly")?,
        availability: t.percent("availability")?,
        throughput_bytes_per_s: throughput,
        source: t.string("source")?.to_string(),
    })
}

fn positive_size(t: &Reader<'_>, key: &str) -> Result<f64, CatalogueError> {
    let bytes = t.size(key)?;
    if bytes <= 0.0 {
        return Err(t.error(key, "must be more than zero"));
    }
    Ok(bytes)
}

/// Parses TOML text into a table, turning a syntax error into a [`CatalogueError`] that
/// says where (line and column) and what.
fn parse_table(text: &str) -> Result<Table, CatalogueError> {
    toml::from_str::<Table>(text).map_err(|e| {
        let what = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        let place = match e.span() {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or(text);
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(" at line {line}, column {column}")
            }
            None => String::new(),
        };
        CatalogueError {
            key: None,
            message: format!("not valid TOML{place}: {what}"),
        }
    })
}

/// Merges `overlay` into `base`: tables merge recursively, any other value replaces.
fn deep_merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(into)), Value::Table(from)) => deep_merge(into, from),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Gives every class, `[storage]` and `[network]` table in the user's file that lacks a
/// `source` one that names the user's file (and, for a changed built-in entry, which keys
/// the user set and where the rest comes from).
fn stamp_user_sources(user: &mut Table, base: &Table) {
    for section in CLASS_SECTIONS {
        let Some(Value::Table(classes)) = user.get_mut(section) else {
            continue;
        };
        for (name, class) in classes.iter_mut() {
            if let Value::Table(fields) = class {
                let base_source = base
                    .get(section)
                    .and_then(|s| s.get(name.as_str()))
                    .and_then(|c| c.get("source"))
                    .and_then(Value::as_str);
                stamp(fields, base_source);
            }
        }
    }
    for section in ["storage", "network"] {
        if let Some(Value::Table(fields)) = user.get_mut(section) {
            let base_source = base
                .get(section)
                .and_then(|s| s.get("source"))
                .and_then(Value::as_str);
            stamp(fields, base_source);
        }
    }
}

fn stamp(fields: &mut Table, base_source: Option<&str>) {
    if fields.contains_key("source") {
        return;
    }
    let source = match base_source {
        Some(base) => {
            let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
            format!(
                "{USER_SOURCE} (sets {}); other values: {base}",
                keys.join(", ")
            )
        }
        None => USER_SOURCE.to_string(),
    };
    fields.insert("source".into(), Value::String(source));
}

/// The candidate closest to `name` by case-insensitive Levenshtein distance, if within
/// max(2, len/3) edits; ties go to the first candidate in order.
fn closest_name<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(2);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let distance = strsim::levenshtein(&wanted, &candidate.to_lowercase());
        let better = match best {
            Some((d, _)) => distance < d,
            None => true,
        };
        if distance <= limit && better {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Renders a dotted key path, quoting segments that are not bare TOML keys.
fn render_path(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| {
            let bare = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if bare {
                (*s).to_string()
            } else {
                format!("{s:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A view of one TOML table that knows its own dotted path, for error messages.
struct Reader<'a> {
    path: Vec<&'a str>,
    table: &'a Table,
}

impl<'a> Reader<'a> {
    fn root(table: &'a Table) -> Reader<'a> {
        Reader {
            path: Vec::new(),
            table,
        }
    }

    fn key_path(&self, key: &str) -> String {
        let mut segments = self.path.clone();
        segments.push(key);
        render_path(&segments)
    }

    fn error(&self, key: &str, message: impl Into<String>) -> CatalogueError {
        CatalogueError {
            key: Some(self.key_path(key)),
            message: message.into(),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.table.get(key)
    }

    fn value(&self, key: &str) -> Result<&'a Value, CatalogueError> {
        self.get(key)
            .ok_or_else(|| self.error(key, "missing (this key is required)"))
    }

    /// Rejects keys outside `allowed`, suggesting the closest allowed one.
    fn only_keys(&self, allowed: &[&str]) -> Result<(), CatalogueError> {
        for key in self.table.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = match closest_name(key, allowed.iter().copied()) {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None => String::new(),
                };
                return Err(self.error(
                    key,
                    format!(
                        "unknown key (expected one of: {}){hint}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn table(&self, key: &'a str) -> Result<Reader<'a>, CatalogueError> {
        match self.value(key)? {
            Value::Table(table) => {
                let mut path = self.path.clone();
                path.push(key);
                Ok(Reader { path, table })
            }
            other => Err(self.error(key, format!("expected a table, found {}", other.type_str()))),
        }
    }

    /// The entries of a class section: each must itself be a table.
    fn classes(&self) -> Result<Vec<(&'a str, Reader<'a>)>, CatalogueError> {
        let mut out = Vec::new();
        for (name, value) in self.table {
            match value {
                Value::Table(table) => {
                    let mut path = self.path.clone();
                    path.push(name.as_str());
                    out.push((name.as_str(), Reader { path, table }));
                }
                other => {
                    return Err(self.error(
                        name,
                        format!(
                            "expected a table of class fields, found {}",
                            other.type_str()
                        ),
                    ))
                }
            }
        }
        Ok(out)
    }

    fn string(&self, key: &str) -> Result<&'a str, CatalogueError> {
        match self.value(key)? {
            Value::String(s) => Ok(s.as_str()),
            other => Err(self.error(
                key,
                format!("expected a string, found {}", other.type_str()),
            )),
        }
    }

    fn number(&self, key: &str) -> Result<f64, CatalogueError> {
        let n = match self.value(key)? {
            // Integers in a price file are small; the conversion is exact below 2^53.
            Value::Integer(i) => *i as f64,
            Value::Float(f) => *f,
            other => {
                return Err(self.error(
                    key,
                    format!("expected a number, found {}", other.type_str()),
                ))
            }
        };
        if n.is_finite() {
            Ok(n)
        } else {
            Err(self.error(key, "expected a finite number"))
        }
    }

    fn non_negative(&self, key: &str) -> Result<f64, CatalogueError> {
        let n = self.number(key)?;
        if n < 0.0 {
            return Err(self.error(key, format!("must not be negative, found {n}")));
        }
        Ok(n)
    }

    fn positive(&self, key: &str) -> Result<f64, CatalogueError> {
        let n = self.number(key)?;
        if n <= 0.0 {
            return Err(self.error(key, format!("must be more than zero, found {n}")));
        }
        Ok(n)
    }

    fn percent(&self, key: &str) -> Result<f64, CatalogueError> {
        let n = self.number(key)?;
        if n <= 0.0 || n > 100.0 {
            return Err(self.error(
                key,
                format!("expected a percentage above 0 and at most 100 (e.g. 99.9), found {n}"),
            ));
        }
        Ok(n)
    }

    fn count(&self, key: &str) -> Result<u32, CatalogueError> {
        match self.value(key)? {
            Value::Integer(i) => match u32::try_from(*i) {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(self.error(
                    key,
                    format!("expected a whole number of at least 1, found {i}"),
                )),
            },
            other => Err(self.error(
                key,
                format!("expected a whole number, found {}", other.type_str()),
            )),
        }
    }

    fn unit_string(&self, key: &str, example: &str) -> Result<&'a str, CatalogueError> {
        match self.value(key)? {
            Value::String(s) => Ok(s.as_str()),
            other => Err(self.error(
                key,
                format!(
                    "expected a string with a unit, like \"{example}\", found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn size(&self, key: &str) -> Result<f64, CatalogueError> {
        let text = self.unit_string(key, "8GB")?;
        parse_size(text).map_err(|m| self.error(key, m))
    }

    fn rate(&self, key: &str) -> Result<f64, CatalogueError> {
        let text = self.unit_string(key, "10MB")?;
        let size = text.trim_end().strip_suffix("/s").unwrap_or(text);
        parse_size(size).map_err(|m| self.error(key, m))
    }

    fn duration_ms(&self, key: &str) -> Result<f64, CatalogueError> {
        let text = self.unit_string(key, "0.5ms")?;
        parse_duration_ms(text).map_err(|m| self.error(key, m))
    }
}

/// A size in bytes as the catalogue writes it, e.g. `"8000000000B"`. `f64` display is the
/// shortest text that parses back to the same number, so this round-trips exactly.
fn size_value(bytes: f64) -> Value {
    Value::String(format!("{bytes}B"))
}

/// A duration in milliseconds as the catalogue writes it, e.g. `"0.5ms"`.
fn duration_value(ms: f64) -> Value {
    Value::String(format!("{ms}ms"))
}

/// Splits `"12.5GB"` into `(12.5, "GB")`; the number must be non-negative and plain.
fn split_quantity(text: &str) -> Result<(f64, &str), String> {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" does not start with a number"))?;
    Ok((value, unit.trim()))
}

/// Parses a size such as `"80B"`, `"8GB"`, `"512MiB"` into bytes.
fn parse_size(text: &str) -> Result<f64, String> {
    let (value, unit) = split_quantity(text)?;
    let factor = match unit {
        "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "PB" => 1e15,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "PiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "" => {
            return Err(format!(
                "\"{}\" has no unit; write a size like \"8GB\" or \"512MiB\"",
                text.trim()
            ))
        }
        other => {
            return Err(format!(
            "unknown size unit \"{other}\" (use B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB or PiB)"
        ))
        }
    };
    Ok(value * factor)
}

/// Parses a duration such as `"0.5ms"`, `"2s"`, `"1m"`, `"1h"` into milliseconds.
fn parse_duration_ms(text: &str) -> Result<f64, String> {
    let (value, unit) = split_quantity(text)?;
    let factor = match unit {
        "us" | "µs" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3600e3,
        "" => {
            return Err(format!(
                "\"{}\" has no unit; write a duration like \"0.5ms\" or \"2s\"",
                text.trim()
            ))
        }
        other => {
            return Err(format!(
                "unknown duration unit \"{other}\" (use us, ms, s, m or h)"
            ))
        }
    };
    Ok(value * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn builtin_catalogue_parses() {
        let text_parse = Catalogue::from_toml(BUILTIN_TOML);
        assert!(text_parse.is_ok(), "{text_parse:?}");
        let c = Catalogue::builtin();
        assert_eq!(c.currency, "USD");
        assert!(close(c.hours_per_month, 730.0));
    }

    #[test]
    fn builtin_has_the_classes_the_design_requires() {
        let c = Catalogue::builtin();
        for name in [
            "small",
            "medium",
            "large",
            "xlarge",
            "m7i.large",
            "m7i.xlarge",
            "c7i.large",
            "c7i.xlarge",
            "r6g.large",
            "r6g.xlarge",
            "n2-standard-4",
        ] {
            assert!(c.instance(name).is_some(), "missing instance class {name}");
        }
        for name in ["db_small", "db_medium", "db_large", "db_xlarge"] {
            assert!(c.database(name).is_some(), "missing database class {name}");
        }
        for name in ["cache_small", "cache_medium", "cache_large", "cache_xlarge"] {
            assert!(c.cache(name).is_some(), "missing cache class {name}");
        }
        for name in ["broker_small", "broker_medium", "broker_large"] {
            assert!(c.broker(name).is_some(), "missing broker class {name}");
        }
    }

    #[test]
    fn builtin_generic_sizes_match_the_design() {
        let c = Catalogue::builtin();
        for (name, vcpu, gb) in [
            ("small", 2, 4.0),
            ("medium", 4, 8.0),
            ("large", 8, 16.0),
            ("xlarge", 16, 32.0),
        ] {
            let class = c.instance(name).map(|i| (i.vcpu, i.memory_bytes));
            assert_eq!(class, Some((vcpu, gb * 1e9)), "{name}");
        }
    }

    #[test]
    fn builtin_every_class_has_a_dated_source() {
        let c = Catalogue::builtin();
        let sources = c
            .instances
            .values()
            .map(|x| &x.source)
            .chain(c.databases.values().map(|x| &x.source))
            .chain(c.caches.values().map(|x| &x.source))
            .chain(c.brokers.values().map(|x| &x.source))
            .chain([&c.storage.source, &c.network.source]);
        for source in sources {
            assert!(source.contains("2026-"), "undated source: {source}");
        }
    }

    #[test]
    fn builtin_values_are_parsed_into_base_units() {
        let c = Catalogue::builtin();
        let m7i = c
            .instance("m7i.large")
            .map(|i| (i.vcpu, i.memory_bytes, i.hourly));
        assert_eq!(m7i, Some((2, 8.0 * GIB, 0.1008)));
        // An instance class without `availability` takes the default.
        assert_eq!(c.instance("m7i.large").map(|i| i.availability), Some(99.5));
        let d = &c.defaults;
        assert!(close(d.target_utilization, 70.0));
        assert!(close(d.region_availability, 99.99));
        assert!(close(d.entry_overhead_bytes, 80.0));
        assert!(close(d.hop_latency_ms, 0.5));
        assert!(close(d.partition_throughput_bytes_per_s, 10e6));
        assert!(close(d.gateway_work_ms, 0.2));
        assert!(close(d.instance_availability, 99.5));
        let db = c.database("db_medium").map(|d| d.storage_max_bytes);
        assert_eq!(db, Some(64.0 * 1024.0 * GIB));
    }

    #[test]
    fn sizes_parse_with_decimal_and_binary_units() {
        assert_eq!(parse_size("80B"), Ok(80.0));
        assert_eq!(parse_size("8GB"), Ok(8e9));
        assert_eq!(parse_size("16TB"), Ok(16e12));
        assert_eq!(parse_size("512MiB"), Ok(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_size("10MB"), Ok(1e7));
        assert_eq!(parse_size("1.5KiB"), Ok(1536.0));
        assert_eq!(parse_size("2 PB"), Ok(2e15));
        assert!(parse_size("8").is_err());
        assert!(parse_size("GB").is_err());
        assert!(parse_size("8XB").is_err());
        assert!(parse_size("-1GB").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("1.2.3GB").is_err());
    }

    #[test]
    fn durations_parse_into_milliseconds() {
        assert_eq!(parse_duration_ms("0.5ms"), Ok(0.5));
        assert_eq!(parse_duration_ms("250us"), Ok(0.25));
        assert_eq!(parse_duration_ms("2s"), Ok(2000.0));
        assert_eq!(parse_duration_ms("1m"), Ok(60_000.0));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000.0));
        assert!(parse_duration_ms("5").is_err());
        assert!(parse_duration_ms("5d").is_err());
    }

    #[test]
    fn catalogue_round_trips_through_its_table_form() {
        let c = Catalogue::builtin();
        assert_eq!(Catalogue::from_table(&c.to_table()), Ok(c));
    }

    #[test]
    fn merging_nothing_changes_nothing() {
        let c = Catalogue::builtin();
        assert_eq!(c.merged(""), Ok(c.clone()));
    }

    #[test]
    fn merge_overrides_one_key_and_keeps_the_rest() {
        let c = Catalogue::builtin();
        let m = c.merged("[instances.medium]\nhourly = 0.096\n");
        let m = m.map(|m| m.instances.get("medium").cloned());
        let Ok(Some(medium)) = m else {
            panic!("merge failed: {m:?}");
        };
        assert_eq!(medium.hourly, 0.096);
        assert_eq!(medium.vcpu, 4);
        assert_eq!(medium.memory_bytes, 8e9);
        assert!(medium.source.starts_with("user pricing file (sets hourly)"));
        assert!(medium.source.contains("c7i.xlarge"));
    }

    #[test]
    fn merge_accepts_quoted_dotted_class_names() {
        let c = Catalogue::builtin();
        let m = c.merged("[instances.\"m7i.large\"]\nhourly = 0.2\nsource = \"our rate card\"\n");
        let hourly = m.map(|m| {
            m.instance("m7i.large")
                .map(|i| (i.hourly, i.source.clone()))
        });
        assert_eq!(hourly, Ok(Some((0.2, "our rate card".to_string()))));
    }

    #[test]
    fn merge_adds_a_new_class() {
        let c = Catalogue::builtin();
        let m = c.merged(
            "[databases.db_huge]\nvcpu = 32\nmemory = \"256GiB\"\nhourly = 3.6\n\
             reads_per_s = 100000\nwrites_per_s = 20000\nstorage_max = \"64TiB\"\navailability = 99.5\n",
        );
        let Ok(m) = m else {
            panic!("merge failed: {m:?}");
        };
        let huge = m.database("db_huge");
        assert_eq!(huge.map(|d| d.memory_bytes), Some(256.0 * GIB));
        assert_eq!(huge.map(|d| d.source.as_str()), Some("user pricing file"));
        assert!(m.database("db_small").is_some());
    }

    #[test]
    fn changing_the_default_instance_availability_reaches_builtin_classes() {
        let c = Catalogue::builtin();
        let m = c.merged("[defaults]\ninstance_availability = 99.9\n");
        let a = m.map(|m| m.instance("medium").map(|i| i.availability));
        assert_eq!(a, Ok(Some(99.9)));
    }

    #[test]
    fn new_class_missing_a_field_names_the_key() {
        let c = Catalogue::builtin();
        let e = c.merged("[instances.tiny]\nvcpu = 1\nhourly = 0.01\n");
        let Err(e) = e else {
            panic!("expected an error");
        };
        assert_eq!(e.key.as_deref(), Some("instances.tiny.memory"));
        assert!(e.to_string().contains("instances.tiny.memory"));
    }

    #[test]
    fn wrong_type_names_the_key() {
        let c = Catalogue::builtin();
        let e = c.merged("[instances.\"m7i.large\"]\nhourly = \"cheap\"\n");
        let key = e.err().and_then(|e| e.key);
        assert_eq!(key.as_deref(), Some("instances.\"m7i.large\".hourly"));
    }

    #[test]
    fn size_without_unit_is_rejected() {
        let c = Catalogue::builtin();
        let e = c.merged("[caches.cache_small]\nmemory = 8\n");
        let Err(e) = e else {
            panic!("expected an error");
        };
        assert_eq!(e.key.as_deref(), Some("caches.cache_small.memory"));
        assert!(e.message.contains("unit"), "{}", e.message);
    }

    #[test]
    fn unknown_key_is_rejected_with_a_suggestion() {
        let c = Catalogue::builtin();
        let e = c.merged("[instances.medium]\nhourley = 0.1\n");
        let Err(e) = e else {
            panic!("expected an error");
        };
        assert_eq!(e.key.as_deref(), Some("instances.medium.hourley"));
        assert!(e.message.contains("did you mean `hourly`"), "{}", e.message);
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let c = Catalogue::builtin();
        for (text, key) in [
            (
                "[caches.cache_small]\navailability = 120\n",
                "caches.cache_small.availability",
            ),
            ("[instances.small]\nvcpu = 0\n", "instances.small.vcpu"),
            ("[instances.small]\nhourly = -1\n", "instances.small.hourly"),
            ("hours_per_month = 0\n", "hours_per_month"),
            (
                "[defaults]\ntarget_utilization = 0\n",
                "defaults.target_utilization",
            ),
            ("instances = 3\n", "instances"),
            ("[brokers]\nbroker_small = 1\n", "brokers.broker_small"),
        ] {
            let got = c.merged(text).err().and_then(|e| e.key);
            assert_eq!(got.as_deref(), Some(key), "for {text:?}");
        }
    }

    #[test]
    fn invalid_toml_is_an_error_not_a_panic() {
        let c = Catalogue::builtin();
        let e = c.merged("[instances.medium]\nhourly = 0.1\n[instances.medium\n");
        let Err(e) = e else {
            panic!("expected an error");
        };
        assert_eq!(e.key, None);
        assert!(e.message.contains("line 3"), "{}", e.message);
    }

    #[test]
    fn closest_names_suggest_near_misses_only() {
        let c = Catalogue::builtin();
        assert_eq!(c.closest_instance("medum"), Some("medium"));
        assert_eq!(c.closest_instance("m7i.larg"), Some("m7i.large"));
        assert_eq!(c.closest_instance("Medium"), Some("medium"));
        assert_eq!(c.closest_instance("quantum-computer"), None);
        assert_eq!(c.closest_database("db_medum"), Some("db_medium"));
        assert_eq!(c.closest_cache("cache_smal"), Some("cache_small"));
        assert_eq!(c.closest_broker("broker_lage"), Some("broker_large"));
    }

    #[test]
    fn names_are_sorted() {
        let c = Catalogue::builtin();
        let names = c.instance_names();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(c.database_names().len(), 4);
        assert_eq!(c.cache_names().len(), 4);
        assert_eq!(c.broker_names().len(), 3);
    }

    #[test]
    fn catalogue_serialises_to_json() {
        let json = serde_json::to_string(&Catalogue::builtin());
        assert!(json.is_ok_and(|j| j.contains("\"memory_bytes\"")));
    }
}
