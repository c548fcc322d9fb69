//! Reading cfpd's `[metrics] listen` endpoint (/metrics, /healthz) the way a
//! monitoring system does.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::PATIENCE;

/// `GET path` on the metrics port: (status code, body). `None`: nothing listens.
pub async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
        .await
        .expect("the endpoint answers within 20 s")
        .ok()?;
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    Some((code, body.to_string()))
}

/// The /metrics text.
pub async fn scrape(port: u16) -> String {
    let (code, body) = get(port, "/metrics").await.expect("metrics endpoint");
    assert_eq!(code, 200, "{body}");
    body
}

/// The value of one series (`name` or `name{labels}`), if present.
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Like [`value`], 0 when the series is absent (a state with no rows yet).
pub fn num(text: &str, series: &str) -> f64 {
    value(text, series).unwrap_or(0.0)
}

/// The label value of the first series of `name` (`name{label="…"} 1`).
pub fn label(text: &str, name: &str) -> Option<String> {
    let l = text.lines().find(|l| l.starts_with(&format!("{name}{{")))?;
    let v = l.split_once("=\"")?.1;
    Some(v[..v.find('"')?].to_string())
}

/// Scrape until `ok` holds for the text (panics with the last text after PATIENCE).
pub async fn scrape_until(port: u16, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        if let Some((200, t)) = get(port, "/metrics").await {
            if ok(&t) {
                return t;
            }
            assert!(start.elapsed() < PATIENCE, "never {what}:\n{t}");
        } else {
            assert!(start.elapsed() < PATIENCE, "never {what}: no /metrics");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
