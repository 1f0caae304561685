//! `/metrics`, `/healthz` and `/readyz`, and the dictionary reloader.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tracing::{error, info};

use super::metrics::{RELOAD_FAILURE, RELOAD_SUCCESS};
use super::{ServiceError, Shared, check_stages, load_tagger};

/// Serves until shutdown.
pub async fn serve(shared: Arc<Shared>, listener: tokio::net::TcpListener) -> Result<(), ServiceError> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(shared.clone());
    let mut shutdown = shared.shutdown.subscribe();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| ServiceError::Other(format!("metrics server: {e}")))
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], shared.metrics.render())
}

async fn readyz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    use std::sync::atomic::Ordering::SeqCst;
    let checks = [
        ("dictionary", true),
        ("articles partitions assigned", shared.articles_assigned.load(SeqCst)),
        ("dedup partitions assigned", shared.dedup_assigned.load(SeqCst)),
        ("producer connected", shared.producer_connected.load(SeqCst)),
    ];
    let body: String =
        checks.iter().map(|(name, ok)| format!("{name}: {}\n", if *ok { "ok" } else { "waiting" })).collect();
    let status = if checks.iter().all(|(_, ok)| *ok) { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, body)
}

/// The newest modification time of the files in `dir` (recursively).
fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let meta = entry.metadata().ok()?;
        let t = if meta.is_dir() { newest_mtime(&entry.path()) } else { meta.modified().ok() };
        newest = newest.max(t);
    }
    newest
}

/// Reloads the dictionary on SIGHUP and when a file in its folder changes: builds the new
/// automaton off the hot path and swaps it in; a broken dictionary keeps the old one serving.
pub async fn reloader(shared: Arc<Shared>) -> Result<(), ServiceError> {
    let dir = shared.config.dictionary.dir.clone();
    let mut shutdown = shared.shutdown.subscribe();
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| ServiceError::Other(format!("SIGHUP handler: {e}")))?;
    let watch = shared.config.dictionary.watch_secs;
    let mut seen = if dir.is_empty() { None } else { newest_mtime(Path::new(&dir)) };
    loop {
        let poll = async {
            if dir.is_empty() || watch == 0 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_secs(watch)).await;
        };
        let reason = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
            _ = hangup.recv() => "SIGHUP",
            _ = poll => {
                let now = newest_mtime(Path::new(&dir));
                if now == seen { continue; }
                seen = now;
                "file change"
            }
        };
        if dir.is_empty() {
            info!(reason, "the dictionary is built into the binary: nothing to reload (set dictionary.dir)");
            continue;
        }
        let config = shared.config.clone();
        // Built and checked for every stage before any switches: both serve the new dictionary,
        // or both keep the old one.
        let built = tokio::task::spawn_blocking(move || {
            let tagger = load_tagger(&config)?;
            check_stages(&tagger)?;
            Ok::<_, ServiceError>(tagger)
        })
        .await;
        match built {
            Ok(Ok(tagger)) => {
                let version = tagger.dictionary().version().to_string();
                shared.swap_tagger(Arc::new(tagger));
                shared.metrics.dictionary_reloads.with_label_values(&[RELOAD_SUCCESS]).inc();
                info!(reason, %version, "dictionary reloaded");
            }
            Ok(Err(e)) => {
                shared.metrics.dictionary_reloads.with_label_values(&[RELOAD_FAILURE]).inc();
                error!(reason, error = %e, "dictionary reload failed; the previous dictionary keeps serving");
            }
            Err(e) => {
                shared.metrics.dictionary_reloads.with_label_values(&[RELOAD_FAILURE]).inc();
                error!(reason, error = %e, "dictionary reload panicked; the previous dictionary keeps serving");
            }
        }
    }
}
