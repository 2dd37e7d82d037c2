//! The HTTP API. Update requests and job reads need a bearer token (checked before the body
//! is read); `/healthz` and `/metrics` are open for probes and scrapers. Bodies are capped;
//! malformed JSON is a 400 that says why; anything else is a 404.

use crate::policy::filter::{SkipRule, Update, judge};
use crate::serve::App;
use crate::serve::names::{self, MAX_NAME, MAX_VERSION};
use crate::serve::runner::unix_now;
use crate::serve::store::{Intake, Status};
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use upkeep_pins::canonical_image_name;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// The routes, with `app` as their state.
pub fn router(app: Arc<App>) -> Router {
    let guarded = Router::new()
        .route("/webhook/diun", post(diun))
        .route("/bump", post(bump))
        .route("/jobs", get(jobs))
        .route("/jobs/{id}", get(job))
        .route_layer(middleware::from_fn_with_state(app.clone(), read_body))
        .route_layer(middleware::from_fn_with_state(app.clone(), authorize));
    Router::new()
        .merge(guarded)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// 401, without saying what was wrong.
async fn authorize(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if app.tokens.allows(header) {
        return next.run(request).await;
    }
    app.metrics.unauthorized();
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "unauthorized"})),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"upkeep\""),
    );
    response
}

/// Reads the whole body, at most [`MAX_BODY`] bytes within the body timeout, before the
/// handler runs: a client that stops sending gets 408 instead of holding the connection.
async fn read_body(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(app.body_timeout, axum::body::to_bytes(body, MAX_BODY)).await;
    match read {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        // The client's connection failed mid-body; else the only failure is the size cap.
        Ok(Err(why)) if caused_by_connection(&why) => error(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        ),
        Ok(Err(_)) => too_large(),
        Err(_) => error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s",
                app.body_timeout.as_secs()
            ),
        ),
    }
}

fn too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is larger than {MAX_BODY} bytes"),
    )
}

/// Whether a body error comes from the connection (hyper), not from the size cap.
fn caused_by_connection(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.is::<hyper::Error>() {
            return true;
        }
        cause = current.source();
    }
    false
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}

/// `POST /webhook/diun`: either DIUN shape; the filter, coalescing and rate limit apply.
async fn diun(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let started = Instant::now();
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let update = match Update::parse(text) {
        Ok(update) => update,
        Err(why) => return error(StatusCode::BAD_REQUEST, format!("{why:#}")),
    };
    // An empty tag is the filter's to skip (`not_a_release`); any other must be clean.
    let checked =
        names::check("image", &update.image, MAX_NAME).and_then(|()| match update.tag.is_empty() {
            true => Ok(()),
            false => names::check("tag", &update.tag, MAX_VERSION),
        });
    if let Err(why) = checked {
        return error(StatusCode::BAD_REQUEST, why);
    }
    app.metrics.received();
    let worker = app.clone();
    let judged = tokio::task::spawn_blocking(move || {
        let report = worker.scan()?;
        Ok::<_, anyhow::Error>(
            judge(&update, &worker.config, &report.pins)
                .map(|_| (canonical_image_name(&update.image), update.tag)),
        )
    })
    .await;
    match judged {
        Ok(Ok(Ok((name, tag)))) => intake(&app, name, tag, "diun", started).await,
        Ok(Ok(Err(skip))) => {
            tracing::info!(reason = %skip.reason, "update skipped");
            app.metrics.skipped(skip.rule.label(), started.elapsed());
            (
                StatusCode::OK,
                Json(
                    json!({"status": "skipped", "rule": skip.rule.label(), "reason": skip.reason}),
                ),
            )
                .into_response()
        }
        Ok(Err(why)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot scan the repository: {why:#}"),
        ),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the intake task failed"),
    }
}

/// The body of `POST /bump`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BumpRequest {
    name: String,
    version: String,
}

/// `POST /bump`: `{name, version}`; coalescing and the rate limit apply (the filter's other
/// rules are for detected updates; the bump itself refuses what is not pinned).
async fn bump(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let started = Instant::now();
    let request: BumpRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(why) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not {{\"name\": …, \"version\": …}}: {why}"),
            );
        }
    };
    if let Err(why) = names::check("name", &request.name, MAX_NAME)
        .and_then(|()| names::check("version", &request.version, MAX_VERSION))
    {
        return error(StatusCode::BAD_REQUEST, why);
    }
    app.metrics.received();
    // One update, one job: an image the repository pins is kept under its canonical name,
    // as DIUN deliveries are.
    let worker = app.clone();
    let BumpRequest { name, version } = request;
    let (asked, wanted) = (name.clone(), version.clone());
    let named = tokio::task::spawn_blocking(move || {
        let pins = worker.scan()?;
        Ok::<_, anyhow::Error>(names::job_name(&worker.repo, &asked, &wanted, &pins))
    })
    .await;
    let name = match named {
        Ok(Ok(name)) => name,
        Ok(Err(why)) => {
            tracing::warn!(error = %format!("{why:#}"), "cannot scan the repository; the name is kept as written");
            name
        }
        Err(_) => name,
    };
    intake(&app, name, version, "bump", started).await
}

/// Queues (or coalesces, or rate-limits) an update and answers.
async fn intake(
    app: &Arc<App>,
    name: String,
    version: String,
    source: &'static str,
    started: Instant,
) -> Response {
    let worker = app.clone();
    let (job_name, job_version) = (name.clone(), version.clone());
    let recorded = tokio::task::spawn_blocking(move || {
        let now = unix_now();
        let window = i64::try_from(worker.config.filter.window_hours * 3600).unwrap_or(i64::MAX);
        worker.store.intake(
            &job_name,
            &job_version,
            source,
            now,
            (
                u64::from(worker.config.filter.max_updates),
                now.saturating_sub(window),
            ),
        )
    })
    .await;
    match recorded {
        Ok(Ok(Intake::Accepted(id))) => {
            app.metrics.accepted(started.elapsed());
            app.wake.notify_one();
            tracing::info!(job = id, %name, %version, "update accepted");
            (
                StatusCode::ACCEPTED,
                Json(json!({"status": "accepted", "job": id})),
            )
                .into_response()
        }
        Ok(Ok(Intake::Coalesced(id))) => {
            app.metrics.coalesced(started.elapsed());
            (
                StatusCode::ACCEPTED,
                Json(json!({"status": "coalesced", "job": id})),
            )
                .into_response()
        }
        Ok(Ok(Intake::RateLimited(count))) => {
            let rule = SkipRule::RateLimit;
            app.metrics.skipped(rule.label(), started.elapsed());
            let reason = format!(
                "rate limit: {count} update(s) accepted in the last {} h",
                app.config.filter.window_hours
            );
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"status": "skipped", "rule": rule.label(), "reason": reason})),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
            response
        }
        Ok(Err(why)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot record the job: {why:#}"),
        ),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the intake task failed"),
    }
}

/// `GET /jobs` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobsQuery {
    status: Option<String>,
    limit: Option<u32>,
}

/// `GET /jobs?status=queued&limit=100`: the newest jobs, without logs.
async fn jobs(
    State(app): State<Arc<App>>,
    query: Result<Query<JobsQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(why) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("query parameters are `status` and `limit`: {why}"),
            );
        }
    };
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => match Status::ALL.into_iter().find(|s| s.as_str() == text) {
            Some(status) => Some(status),
            None => return error(StatusCode::BAD_REQUEST, format!("unknown status `{text}`")),
        },
    };
    let limit = query.limit.unwrap_or(100).min(10_000);
    let worker = app.clone();
    match tokio::task::spawn_blocking(move || worker.store.jobs(status, limit)).await {
        Ok(Ok(jobs)) => Json(json!({"jobs": jobs})).into_response(),
        _ => error(StatusCode::SERVICE_UNAVAILABLE, "cannot read the jobs"),
    }
}

/// `GET /jobs/{id}`: one job with its stages, commits and log.
async fn job(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error(StatusCode::NOT_FOUND, "no such job");
    };
    let worker = app.clone();
    match tokio::task::spawn_blocking(move || worker.store.job(id)).await {
        Ok(Ok(Some(job))) => Json(job).into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, "no such job"),
        _ => error(StatusCode::SERVICE_UNAVAILABLE, "cannot read the job"),
    }
}

/// `GET /healthz`: 200 when the database answers.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let worker = app.clone();
    match tokio::task::spawn_blocking(move || worker.store.counts()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n").into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer\n",
        )
            .into_response(),
    }
}

/// `GET /metrics`: Prometheus text.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let worker = app.clone();
    let counts = tokio::task::spawn_blocking(move || worker.store.counts())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        app.metrics.render(&counts, app.connections.open()),
    )
        .into_response()
}
