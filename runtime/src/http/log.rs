//! Structured logs: one JSON object per line on stderr, with a timestamp, level, component
//! and message, plus any fields. Nothing else in the runtime prints.

use serde_json::{Map, Value};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes one log line. `fields` are added as top-level keys.
pub fn event(level: &str, component: &str, message: &str, fields: &[(&str, Value)]) {
    let mut line = Map::new();
    let ts_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    line.insert("ts_ms".into(), ts_ms.into());
    line.insert("level".into(), level.into());
    line.insert("component".into(), component.into());
    line.insert("msg".into(), message.into());
    for (k, v) in fields {
        line.insert((*k).to_string(), v.clone());
    }
    let mut text = Value::Object(line).to_string();
    text.push('\n');
    // A closed stderr must not take the service down.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// An informational line.
pub fn info(component: &str, message: &str, fields: &[(&str, Value)]) {
    event("info", component, message, fields);
}

/// A warning line.
pub fn warn(component: &str, message: &str, fields: &[(&str, Value)]) {
    event("warn", component, message, fields);
}

/// An error line.
pub fn error(component: &str, message: &str, fields: &[(&str, Value)]) {
    event("error", component, message, fields);
}
