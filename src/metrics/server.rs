//! The HTTP endpoint of `cfpd run` (`[metrics] listen`): `GET /metrics`
//! (Prometheus text format 0.0.4) and `GET /healthz` (200 or 503 with one
//! line saying why). HTTP/1.1 only, on hyper; it stops with the daemon's
//! shutdown signal, letting requests in progress finish for a moment.
//!
//! It only reads. A scrape reads the database-wide facts at most once per
//! [`CACHE_FOR`] (scrapes arriving meanwhile share that read) and gives up on
//! the database after [`DB_TIMEOUT`], answering with this process's own
//! facts and `cfpd_database_up 0`: a slow database cannot pile up scrapes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::Metrics;
use crate::shutdown::Shutdown;
use crate::store::status::{self, Snapshot};
use crate::store::Store;

/// A database snapshot is reused for this long by later scrapes.
pub const CACHE_FOR: Duration = Duration::from_secs(2);

/// A scrape waits at most this long for the database.
pub const DB_TIMEOUT: Duration = Duration::from_secs(5);

/// A client must send its request headers within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long requests in progress may take to finish after shutdown.
const DRAIN: Duration = Duration::from_secs(2);

/// The endpoint could not listen.
#[derive(Debug, thiserror::Error)]
#[error("[metrics] listen = \"{addr}\": cannot listen: {source}")]
pub struct BindError {
    /// The configured address.
    pub addr: SocketAddr,
    /// Why (address in use, not a local address, permission).
    #[source]
    pub source: std::io::Error,
}

/// The last database read, shared by scrapes.
#[derive(Debug, Default)]
struct Cache {
    /// When it was read (also after a failure, so failures are not retried
    /// by every waiting scrape).
    read_at: Option<Instant>,
    /// The facts, `None` when the read failed or timed out.
    snapshot: Option<Arc<Snapshot>>,
}

/// What the handlers need.
#[derive(Debug)]
pub struct Endpoint {
    /// This process's counters and health.
    metrics: Arc<Metrics>,
    /// Where the database-wide facts are read.
    store: Store,
    /// `[metrics] poll_stale_seconds`, for `/healthz`.
    poll_stale: Duration,
    /// Serialises database reads (one at a time) and holds the last one.
    cache: tokio::sync::Mutex<Cache>,
}

impl Endpoint {
    /// An endpoint over this process's `metrics` and the `store`.
    pub fn new(metrics: Arc<Metrics>, store: Store, poll_stale: Duration) -> Endpoint {
        Endpoint {
            metrics,
            store,
            poll_stale,
            cache: tokio::sync::Mutex::new(Cache::default()),
        }
    }

    /// The database-wide facts, from the cache or one bounded read.
    async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        let mut cache = self.cache.lock().await;
        if cache.read_at.is_some_and(|t| t.elapsed() < CACHE_FOR) {
            return cache.snapshot.clone();
        }
        let read = async {
            let mut c = self.store.conn().await?;
            status::snapshot(&mut c, self.store.backend, crate::lease::DAEMON).await
        };
        cache.snapshot = match tokio::time::timeout(DB_TIMEOUT, read).await {
            Ok(Ok(s)) => Some(Arc::new(s)),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics: could not read the database");
                None
            }
            Err(_) => {
                tracing::warn!(
                    timeout_s = DB_TIMEOUT.as_secs(),
                    "metrics: the database did not answer in time"
                );
                None
            }
        };
        cache.read_at = Some(Instant::now());
        cache.snapshot.clone()
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n".into());
        }
        match req.uri().path() {
            "/metrics" => {
                let snap = self.snapshot().await;
                let body = self.metrics.encode(snap.as_deref());
                let mut r = text(StatusCode::OK, body);
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static(
                        prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                    ),
                );
                r
            }
            "/healthz" => {
                let h = self.metrics.health(self.poll_stale);
                let code = if h.ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                text(code, format!("{}\n", h.reason))
            }
            _ => text(
                StatusCode::NOT_FOUND,
                "not found: cfpd serves /metrics and /healthz\n".into(),
            ),
        }
    }
}

fn text(code: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Listen on `addr` (before the daemon starts working, so a taken port is a
/// clear startup error rather than a silent missing endpoint).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })
}

/// Serve until `shutdown` fires, then let requests in progress finish (for
/// at most `DRAIN`) and return.
pub async fn serve(listener: TcpListener, endpoint: Arc<Endpoint>, mut shutdown: Shutdown) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let addr = listener
        .local_addr()
        .map_or_else(|e| e.to_string(), |a| a.to_string());
    tracing::info!(listen = %addr, "serving /metrics and /healthz");
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "metrics: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.recv() => break,
        };
        let ep = endpoint.clone();
        let service = hyper::service::service_fn(move |req| {
            let ep = ep.clone();
            async move { Ok::<_, Infallible>(ep.handle(req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "metrics: connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("metrics: requests still open at shutdown were dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scrapes_share_one_read_and_a_database_that_fails_is_reported_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/m.db", dir.path().display()))
            .await
            .unwrap();
        let ep = Endpoint::new(Arc::new(Metrics::new()), store.clone(), DB_TIMEOUT);
        let first = ep.snapshot().await.expect("the database answers");
        let again = ep.snapshot().await.unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second scrape reused the read"
        );
        store.close().await;
        ep.cache.lock().await.read_at = None;
        let t = Instant::now();
        assert!(
            ep.snapshot().await.is_none(),
            "a closed database gives no facts"
        );
        assert!(t.elapsed() < DB_TIMEOUT);
        let text = ep.metrics.encode(None);
        assert!(text.contains("cfpd_database_up 0\n"), "{text}");
    }
}
