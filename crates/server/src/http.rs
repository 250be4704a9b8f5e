//! The HTTP API (axum): routes, the JSON error shape, the bearer-token extractor, request
//! logging, and serving with or without TLS until a shutdown signal.
//!
//! Every error body is `{"code": "...", "message": "..."}` with a stable `code`.

use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::accounts::{AccountError, Accounts, Registration};
use crate::blobs::Blobs;
use crate::store::{Device, StoreError, User};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a TLS server waits for open connections once shutdown starts.
const TLS_DRAIN: Duration = Duration::from_secs(30);

/// What every handler shares. Cheap to clone; holds no per-connection state.
#[derive(Debug, Clone)]
pub struct AppState {
    pub accounts: Accounts,
    /// Where photo blobs live; `None` when the server was started without one (a PostgreSQL
    /// server without `--blob-url`): the photo endpoints then answer 503 `photos_unavailable`.
    pub blobs: Option<Blobs>,
}

/// An error answer: a status and the `{code, message}` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), for 429 answers.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: Cow::Borrowed(code),
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn internal(what: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %what, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed; try again later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthorised = self.status == StatusCode::UNAUTHORIZED;
        let mut response = (
            self.status,
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response();
        if unauthorised {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> ApiError {
        let status = match &e {
            AccountError::BadCredentials
            | AccountError::Unauthorised
            | AccountError::DeviceRevoked { .. }
            | AccountError::TokenExpired { .. } => StatusCode::UNAUTHORIZED,
            AccountError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AccountError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AccountError::Conflict { .. } => StatusCode::CONFLICT,
            AccountError::NotFound { .. } => StatusCode::NOT_FOUND,
            AccountError::Store(inner) => return ApiError::internal(inner),
        };
        ApiError {
            status,
            code: Cow::Borrowed(e.code()),
            message: e.to_string(),
            retry_after: match e {
                AccountError::TooManyAttempts { retry_after_secs } => Some(retry_after_secs),
                _ => None,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        AccountError::from(e).into()
    }
}

/// Runs blocking work (the store, Argon2) off the async threads.
pub async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(Into::into),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// `Json<T>` whose refusals use the API's error shape.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_refusal(rejection)),
        }
    }
}

fn json_refusal(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            e.body_text(),
        ),
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"),
            )
        }
        other => ApiError::new(other.status(), "unreadable_body", other.body_text()),
    }
}

/// The device and user a request's bearer token belongs to. Missing or unknown token: 401
/// `unauthorised`; revoked device: 401 `device_revoked` with the reason.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub device: Device,
    pub user: User,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token =
            bearer_token(parts).ok_or_else(|| ApiError::from(AccountError::Unauthorised))?;
        let accounts = state.accounts.clone();
        let (device, user) = blocking(move || accounts.authenticate(&token)).await?;
        Ok(Authenticated { device, user })
    }
}

fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The API's routes and layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/auth/v1/register", post(register))
        .route("/auth/v1/whoami", get(whoami))
        .route("/sync/v1/sync", post(crate::sync_api::sync))
        .route(
            "/photos/v1/blobs/{sha256}",
            get(crate::photos_api::get_blob)
                .head(crate::photos_api::head_blob)
                .patch(crate::photos_api::patch_blob),
        )
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One log line per request: method, path (never the query), status, latency.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        latency_ms = format!("{latency_ms:.2}"),
        "request"
    );
    response
}

async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.accounts.store().clone();
    match blocking(move || store.ping()).await {
        Ok(()) => Ok(Json(json!({ "status": "ok" }))),
        Err(e) => {
            tracing::error!(code = %e.code, message = %e.message, "health check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the store does not answer",
            ))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    user: String,
    password: String,
    device_id: String,
    device_number: u32,
    device_name: String,
    /// The person id the device minted at set-up (optional).
    #[serde(default)]
    person_id: Option<String>,
}

async fn register(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    // The peer's address, when the server was started with connection info (`serve` does).
    let client = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let accounts = state.accounts.clone();
    let registered = blocking(move || {
        accounts.register(&Registration {
            user: &body.user,
            password: &body.password,
            device_id: &body.device_id,
            device_number: body.device_number,
            device_name: &body.device_name,
            person_id: body.person_id.as_deref(),
            client,
        })
    })
    .await?;
    let user = &registered.user;
    tracing::info!(
        device_id = %registered.device.device_id,
        person_id = %user.id,
        "device registered"
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "token": registered.token,
            "device_id": registered.device.device_id.to_string(),
            "device_number": registered.device.device_number,
            "person_id": user.id.to_string(),
            "person_name": user.name,
            "role": user.role.code(),
            "team": user.team.as_ref().map(|t| &t.name),
            "team_id": user.team.as_ref().map(|t| t.id.to_string()),
        })),
    ))
}

async fn whoami(auth: Authenticated) -> Json<serde_json::Value> {
    let Authenticated { device, user } = auth;
    Json(json!({
        "device": {
            "device_id": device.device_id.to_string(),
            "device_number": device.device_number,
            "name": device.name,
            "created_at": device.created_at,
            "last_seen_at": device.last_seen_at,
        },
        "user": {
            "person_id": user.id.to_string(),
            "name": user.name,
            "role": user.role.code(),
            "team": user.team.as_ref().map(|t| &t.name),
            "team_id": user.team.as_ref().map(|t| t.id.to_string()),
        },
    }))
}

/// Serves `router` on a bound listener until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish (TLS: for up to 30 seconds).
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    match tls {
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
        }
        Some(config) => {
            let handle = axum_server::Handle::new();
            let on_signal = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                on_signal.graceful_shutdown(Some(TLS_DRAIN));
            });
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(router.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .await
        }
    }
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called (inside the runtime), not when the future is first polled, so a signal that arrives
/// right after the address is printed is not lost.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

/// A future that resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: shutting down");
        } else {
            std::future::pending::<()>().await;
        }
    })
}
