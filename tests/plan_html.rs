//! The HTML report of the shop example: self-contained (no URL to load, no script), and,
//! rendered by headless Chromium, its charts are drawn: each chart has its own colour
//! (`plan::render::palette`) and the screenshot must hold enough pixels of each.
//!
//! Without Chromium the test fails when `CI` is set and is skipped (with a message)
//! otherwise (`CHROMIUM=/path` chooses the browser). The screenshot is kept under the
//! target directory (`target/tmp/plan_html/shop.png`); its path is printed.

use archc::plan::render::palette;
use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    // `CHROMIUM=/path` picks the browser (and, pointing nowhere, simulates its absence).
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    let names = ["chromium", "chromium-browser", "google-chrome"];
    std::env::split_paths(&dirs)
        .chain([PathBuf::from("/usr/bin")])
        .flat_map(|d| names.map(|n| d.join(n)))
        .find(|p| p.is_file())
}

fn write_report(dir: &Path) -> (PathBuf, String) {
    let html = dir.join("shop.html");
    let out = Command::cargo_bin("archc")
        .expect("the archc binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["plan", "examples/shop/main.arch", "--format", "html", "-o"])
        .arg(&html)
        .output()
        .expect("run archc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "archc plan failed:\n{stderr}");
    let text = std::fs::read_to_string(&html).expect("the HTML report");
    (html, text)
}

/// The values of every `name="..."` attribute in `html`.
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!("{name}=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

fn assert_self_contained(html: &str) {
    for name in ["src", "href", "xlink:href", "action", "poster"] {
        for value in attributes(html, name) {
            let v = value.trim().to_ascii_lowercase();
            assert!(
                !(v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//")),
                "{name}=\"{value}\" loads from the network"
            );
        }
    }
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script", "<link", "<img", "<iframe", "@import", "url(http", "url(//",
    ] {
        assert!(!lower.contains(banned), "the page contains {banned}");
    }
    assert!(
        lower.contains("content-security-policy"),
        "a CSP forbids loading anything"
    );
}

/// Runs headless Chromium on `html` and returns the screenshot's path.
fn screenshot(chromium: &Path, html: &Path, dir: &Path) -> PathBuf {
    let png = dir.join("shop.png");
    let _ = std::fs::remove_file(&png);
    let profile = dir.join("profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    let mut child = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,3000")
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(png.is_file(), "chromium wrote no screenshot");
    png
}

/// The screenshot as RGB pixels, with its width and height.
fn decode(png_path: &Path) -> (Vec<[u8; 3]>, u32, u32) {
    let file = std::fs::File::open(png_path).expect("open screenshot");
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let pixels = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (pixels, info.width, info.height)
}

fn rgb(hex: &str) -> [u8; 3] {
    let h = hex.trim_start_matches('#');
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).expect("a hex colour");
    [byte(0), byte(2), byte(4)]
}

fn count_near(pixels: &[[u8; 3]], colour: [u8; 3]) -> usize {
    let near = |a: u8, b: u8| a.abs_diff(b) <= 6;
    pixels
        .iter()
        .filter(|p| (0..3).all(|i| near(p[i], colour[i])))
        .count()
}

#[test]
fn the_shop_report_is_self_contained_and_its_charts_are_drawn() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plan_html");
    std::fs::create_dir_all(&dir).expect("output dir");
    let (html_path, html) = write_report(&dir);
    assert_self_contained(&html);
    assert_eq!(
        html.matches("<svg").count(),
        5,
        "four charts and the architecture graph"
    );

    let Some(chromium) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "chromium is not installed, and CI is set: install it (apt-get install chromium)"
            );
        }
        eprintln!(
            "SKIPPED the screenshot check: chromium is not installed \
             (it is required when CI is set)"
        );
        return;
    };
    let png = screenshot(&chromium, &html_path, &dir);
    println!("screenshot: {}", png.display());
    let (pixels, width, height) = decode(&png);
    assert_eq!((width, height), (1280, 3000), "the window size");
    let white = rgb("#ffffff");
    let background = rgb("#fafafa");
    let inked = pixels
        .iter()
        .filter(|p| count_near(&[**p], white) == 0 && count_near(&[**p], background) == 0)
        .count();
    assert!(
        inked > pixels.len() / 20,
        "the page is nearly blank: {inked} inked pixels"
    );
    let charts = [
        ("cost by component (bars)", palette::COST, 3_000),
        ("horizon: cost series", palette::SERIES_COST, 400),
        ("horizon: peak series", palette::SERIES_PEAK, 400),
        ("saturation (bars)", palette::SATURATION, 3_000),
        (
            "availability per route (bars)",
            palette::AVAILABILITY,
            3_000,
        ),
        ("architecture graph: services", "#c6dbef", 3_000),
    ];
    for (chart, colour, at_least) in charts {
        let n = count_near(&pixels, rgb(colour));
        println!("{chart}: {n} pixels of {colour}");
        assert!(
            n >= at_least,
            "{chart}: only {n} pixels of {colour} (want {at_least})"
        );
    }
}
