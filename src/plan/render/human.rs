//! Numbers for people: `12.3k rps`, `1.9 TB`, `$12,345`, `99.95%`, `21m 36s`, `1.8×`.
//! Sizes are decimal (1 GB = 10⁹ bytes), as in `.arch` literals.

use crate::plan::report::Latency;

/// Three significant figures with a k/M/G suffix: `840`, `12.3k`, `1.25M`.
pub fn count(v: f64) -> String {
    if !v.is_finite() {
        return "∞".into();
    }
    let (scaled, suffix) = scale(v, 1000.0, &["", "k", "M", "G", "T"]);
    format!("{}{suffix}", significant(scaled))
}

/// A request rate: `12.3k rps`.
pub fn rps(v: f64) -> String {
    format!("{} rps", count(v))
}

/// A message rate: `420/s`.
pub fn rate(v: f64) -> String {
    format!("{}/s", count(v))
}

/// A size in decimal units: `1.9 TB`.
pub fn bytes(v: f64) -> String {
    let (scaled, suffix) = scale(v, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB", "EB"]);
    if suffix == "B" {
        return format!("{v:.0} B");
    }
    format!("{} {suffix}", significant(scaled))
}

/// Money: `$12,345` in dollars, `12,345 EUR` otherwise; cents below 100.
pub fn money(v: f64, currency: &str) -> String {
    let amount = if v.abs() < 100.0 {
        format!("{v:.2}")
    } else {
        grouped(v.round())
    };
    match currency {
        "USD" => format!("${amount}"),
        "EUR" => format!("€{amount}"),
        "GBP" => format!("£{amount}"),
        other => format!("{amount} {other}"),
    }
}

/// A fraction as a percent, with enough decimals to show the shortfall from 100% to two
/// significant figures: `99.95%`, `99.962%`, `99.9999%`, `70%`.
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    let short = (100.0 - p).max(1e-7);
    let digits = (1 - short.log10().floor() as i32).clamp(2, 7) as usize;
    let text = format!("{p:.digits$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// A duration in milliseconds, three significant figures: `0.42 ms`, `38.5 ms`, `1.2 s`.
pub fn ms(v: f64) -> String {
    if v.is_finite() && v >= 1000.0 {
        format!("{} s", significant(v / 1000.0))
    } else {
        format!("{} ms", significant(v))
    }
}

/// p50/p95/p99 as one cell, in milliseconds: `0.69/3.0/4.6`, `9.6/20.0/26.8`, `124/134/140`.
pub fn latency(l: &Latency) -> String {
    let one = |v: f64| match v {
        v if !v.is_finite() => "∞".to_string(),
        v if v < 1.0 => format!("{v:.2}"),
        v if v < 100.0 => format!("{v:.1}"),
        v => format!("{v:.0}"),
    };
    format!("{}/{}/{}", one(l.p50), one(l.p95), one(l.p99))
}

/// A duration in seconds for downtime: `26s`, `21m 36s`, `4h 23m`, `3d 2h`.
pub fn duration_s(v: f64) -> String {
    let s = v.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m {:02}s", s / 60, s % 60),
        3_600..=86_399 => format!("{}h {:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// A multiple of today's peak: `0.8×`, `1.8×`, `12×`.
pub fn multiple(v: f64) -> String {
    if !v.is_finite() {
        "∞".into()
    } else if v < 10.0 {
        format!("{v:.1}×")
    } else {
        format!("{}×", grouped(v.round()))
    }
}

fn scale(v: f64, base: f64, suffixes: &[&'static str]) -> (f64, &'static str) {
    let (mut scaled, mut i) = (v, 0);
    // 0.9995 so that 999.96 reads `1k`, not `1000`.
    while i + 1 < suffixes.len() && scaled.abs() >= base * 0.9995 {
        scaled /= base;
        i += 1;
    }
    (scaled, suffixes[i])
}

/// Three significant figures without trailing zeros: `12.3`, `840`, `0.42`, `1`.
fn significant(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return "∞".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 6) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// An integer with thousands separators: `12,345`.
fn grouped(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanised_numbers() {
        assert_eq!(rps(12_345.0), "12.3k rps");
        assert_eq!(rps(840.0), "840 rps");
        assert_eq!(rps(999.96), "1k rps");
        assert_eq!(rps(12.5), "12.5 rps");
        assert_eq!(rps(1_250_000.0), "1.25M rps");
        assert_eq!(bytes(1.9e12), "1.9 TB");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(13e9), "13 GB");
        assert_eq!(money(12_345.4, "USD"), "$12,345");
        assert_eq!(money(70.08, "USD"), "$70.08");
        assert_eq!(money(1_234_567.0, "CHF"), "1,234,567 CHF");
        assert_eq!(percent(0.9995), "99.95%");
        assert_eq!(percent(0.999_999_1), "99.99991%");
        assert_eq!(percent(0.7), "70%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.99962), "99.962%");
        assert_eq!(percent(0.99949), "99.949%");
        assert_eq!(ms(38.46), "38.5 ms");
        assert_eq!(ms(1_200.0), "1.2 s");
        assert_eq!(duration_s(1_296.0), "21m 36s");
        assert_eq!(duration_s(26.0), "26s");
        assert_eq!(duration_s(15_780.0), "4h 23m");
        assert_eq!(multiple(1.84), "1.8×");
        assert_eq!(multiple(12.4), "12×");
        assert_eq!(count(0.0), "0");
        let l = Latency {
            p50: 0.693,
            p95: 3.0,
            p99: 140.4,
        };
        assert_eq!(latency(&l), "0.69/3.0/140");
        let l = Latency {
            p50: 12.0,
            p95: f64::INFINITY,
            p99: f64::INFINITY,
        };
        assert_eq!(latency(&l), "12.0/∞/∞");
        assert_eq!(ms(f64::INFINITY), "∞ ms");
    }
}
