//! The one pass every request takes (stages 1–10 and 10a of docs/api.md#stages), then the
//! route's own handler.
//!
//! Every outcome, a panic included, becomes the JSON envelope: nothing here returns `Err`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::credentials::Caller;
use domain::email::Email;
use domain::envelope::{Envelope, Outcome, Status};
use domain::request::{check_body_size, check_content_type, decode_params, MAX_BODY_BYTES};
use domain::routes::RouteId;
use domain::views::{application_view, session_view, ApplicationView, SessionView, ViewName};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use store::idempotency::{KeyCommit, KeyScope};
use store::seam::ClientRead;
use time::OffsetDateTime;

use crate::auth::{authenticate, AuthFailure, Authenticated};
use crate::deps::Deps;
use crate::error::{RouteError, RouteResult};
use crate::idempotency::{self, HeldKey, KeyedRequest};
use crate::notify::{send_all, NotifyError};
use crate::outbox_sweep;
use crate::request_id::{request_id, REQUEST_DEADLINE};
use crate::telemetry::{self, log_request, RequestCounts, RequestRecord};

/// An authenticated request with decoded params, as a route's handler sees it.
pub struct Context<'a> {
    pub deps: &'a Deps,
    pub route: RouteId,
    pub caller: &'a Caller,
    pub body: &'a Map<String, Value>,
    pub request_id: &'a str,
    pub now: OffsetDateTime,
    /// When the request's deadline passes (`REQUEST_DEADLINE` after it arrived).
    pub deadline: Instant,
    /// The `Idempotency-Key` the request holds, if it was sent with one.
    pub key: Option<&'a HeldKey>,
    /// What the route's store calls made while the caller was authenticated ([`early_read`]).
    pub early: EarlyRead,
}

/// A store call a route makes while its caller is authenticated, because it depends on nothing
/// the caller decides: one step less. Its result is used only once the caller is known and
/// allowed, by the store call it stands in for; for a refused request it is dropped unseen (an
/// entity id taken is then a gap: ids never repeat).
#[derive(Debug, Default)]
pub enum EarlyRead {
    #[default]
    None,
    /// Entities Create: the next id from the counter.
    EntityId(u64),
    /// Clients Update moving a client's email: the client with its revision.
    Client(Box<ClientRead>),
}

impl EarlyRead {
    pub fn entity_id(&self) -> Option<u64> {
        match self {
            EarlyRead::EntityId(id) => Some(*id),
            _ => None,
        }
    }

    pub fn client(&self) -> Option<ClientRead> {
        match self {
            EarlyRead::Client(read) => Some(ClientRead::clone(read)),
            _ => None,
        }
    }
}

/// A keyed request's record is written before this much is left of the deadline, whose passing
/// would answer `application-crash` instead.
const FINISH_MARGIN: Duration = Duration::from_millis(100);

impl Context<'_> {
    /// Stage 19: sends every email of the request at once, after the write, under one deadline.
    /// Every email is attempted; a failure of any is reported (one error for them all).
    pub async fn send_all(&self, emails: &[Email]) -> Result<(), NotifyError> {
        send_all(&*self.deps.notifier, emails, self.deadline).await
    }

    /// With a key, its answer for the route's write of a `T`, to write in the same transaction:
    /// `render` gives the record's `data` and emails exactly as the handler then sends them.
    pub fn key_commit<'b, T>(
        &'b self,
        render: &'b (dyn Fn(&T) -> (Value, Vec<Email>) + Send + Sync),
    ) -> Option<KeyCommit<'b, T>> {
        self.key.map(|key| key.commit(self.deps, render))
    }

    /// Stage 19 for a saved record `data`: every email sent, then the record, or
    /// `mandrill-email-failed` with it.
    pub async fn notify(&self, emails: &[Email], data: Value) -> RouteResult {
        RouteError::after_notify(self.send_all(emails).await, data)
    }
}

/// A route's handler: stages 11–19 of docs/api.md#stages.
pub type RouteFn = for<'a> fn(Context<'a>) -> BoxFuture<'a, RouteResult>;

/// A CORS preflight: `OPTIONS` with `Access-Control-Request-Method`. API Gateway sends the ones
/// that match no route to the `$default` route (the fallback) and adds the API's CORS headers
/// to its answer; `planocore serve` answers them itself. Either way: `204`, no body.
pub fn is_cors_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key("access-control-request-method")
}

/// The answer to a preflight: `204` and nothing else (no envelope, no request line: a browser
/// sends one before each cross-origin call, and it is no request of the API's).
pub fn cors_preflight() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// The fallback's answer, and any function's for a method and path that is not its route.
pub fn route_non_existent(req: &Request) -> Response<Body> {
    let id = request_id(req);
    let record = RequestRecord {
        request_id: &id,
        route: None,
        status: Status::RouteNonExistent,
        started: Instant::now(),
        caller: None,
        counts: &RequestCounts::default(),
    };
    log_request(req, record);
    response(Envelope::new(Outcome::status(Status::RouteNonExistent), &id))
}

/// Runs `route`'s request through every stage and its handler; always an envelope.
pub async fn handle(deps: &Deps, route: RouteId, handler: RouteFn, req: Request) -> Response<Body> {
    let started = Instant::now();
    if RouteId::identify(req.method(), req.uri().path()) != Some(route) {
        return route_non_existent(&req);
    }
    let id = request_id(&req);
    let mut caller = None;
    let deadline = started + REQUEST_DEADLINE;
    let counts = Arc::new(RequestCounts::default());
    let run = AssertUnwindSafe(run(deps, route, handler, &req, &id, deadline, &mut caller)).catch_unwind();
    let run = telemetry::counting(counts.clone(), run);
    // The outbox sweep (at most once a minute per container) runs alongside the request, never
    // in sequence with its calls, and is over by the answer: Lambda may freeze the container
    // once the answer is sent.
    let (ran, ()) =
        tokio::join!(tokio::time::timeout(REQUEST_DEADLINE, run), outbox_sweep::sweep(deps, deadline - FINISH_MARGIN));
    let envelope = match ran {
        Ok(Ok(envelope)) => envelope,
        Ok(Err(_panic)) => crashed(cut_short(&id, route, "handler panicked"), &id, caller.as_ref()),
        Err(_elapsed) => crashed(cut_short(&id, route, "request deadline passed"), &id, caller.as_ref()),
    };
    let caller = caller.as_ref().map(|(c, _)| c);
    let record = RequestRecord {
        request_id: &id,
        route: Some(route),
        status: envelope.status,
        started,
        caller,
        counts: &counts,
    };
    log_request(&req, record);
    deps.served.store(true, Relaxed);
    response(envelope)
}

/// The envelope as Lambda's HTTP answer ([`Envelope::into_response`]).
pub fn response(envelope: Envelope) -> Response<Body> {
    envelope.into_response().map(Body::Text)
}

async fn run(
    deps: &Deps,
    route: RouteId,
    handler: RouteFn,
    req: &Request,
    id: &str,
    deadline: Instant,
    caller_out: &mut Option<(Caller, CallerObjects)>,
) -> Envelope {
    let body = match pre_auth(deps, route, req).await {
        Ok(body) => body,
        Err(outcome) => return Envelope::new(outcome, id),
    };
    let token = match body.get("token") {
        None | Some(Value::Null) => {
            return Envelope::new(Outcome::param(Status::MissingParam, "token", "This param is required."), id)
        }
        Some(Value::String(t)) if t.is_empty() => {
            return Envelope::new(Outcome::param(Status::MissingParam, "token", "This param is required."), id)
        }
        Some(Value::String(t)) => t,
        Some(_) => {
            return Envelope::new(Outcome::param(Status::InvalidParam, "token", "This param must be a string."), id)
        }
    };
    let now = deps.clock.now();
    let (authenticated, early) =
        tokio::join!(authenticate(deps.store.as_ref(), token, now), early_read(deps, route, req, &body));
    let Authenticated { caller, touch_due } = match authenticated {
        Ok(authenticated) => authenticated,
        Err(failure) => return auth_failure(failure, id),
    };
    let objects = CallerObjects::of(&caller, &body);
    // Kept where `handle` sees it too: a panic or the deadline still answers with the caller.
    let (caller, objects) = &*caller_out.insert((caller, objects));
    let ctx = Context { deps, route, caller, body: &body, request_id: id, now, deadline, key: None, early };
    let answer = async {
        match idempotency::requested_key(req.headers()) {
            Err(refused) => Envelope::new(refused, id),
            Ok(None) => Envelope::new(outcome_of(handler(ctx).await, route, id), id),
            Ok(Some(key)) => {
                let keyed = KeyedRequest::new(deps, KeyScope::new(route, caller, key), &body, id, now, deadline);
                run_once(&keyed, ctx, handler).await
            }
        }
    };
    // The session's touch goes out first and runs alongside the route's calls: never a step of
    // its own.
    let ((), mut envelope) = tokio::join!(touch_if_due(deps, caller, touch_due, now, id), answer);
    objects.attach(&mut envelope);
    envelope
}

/// Moves the session's `last_used_at` to the request's time (stage 9). A failure is logged and
/// the answer stands: the session then expires from its last recorded use, never later, and a
/// revocation (on the user) is untouched by it.
async fn touch_if_due(deps: &Deps, caller: &Caller, due: bool, now: OffsetDateTime, id: &str) {
    let Caller::Session { session, .. } = caller else { return };
    if !due {
        return;
    }
    if let Err(e) = deps.store.touch_session(session, now).await {
        tracing::warn!(request_id = %id, error = %e, "the session's last_used_at could not be moved");
    }
}

/// The route's [`EarlyRead`], if it has one for this request: Entities Create's next id; for a
/// Clients Update that moves an email (`email` and `id` sent), the client it reads before its
/// transaction anyway. None with an `Idempotency-Key`: a replayed request would pay a call it
/// has no use for; none in a container that has not answered a request yet ([`Deps::served`]).
/// A failed call is dropped: the store makes it again in its turn.
async fn early_read(deps: &Deps, route: RouteId, req: &Request, body: &Map<String, Value>) -> EarlyRead {
    if req.headers().contains_key(idempotency::HEADER) || !deps.served.load(Relaxed) {
        return EarlyRead::None;
    }
    let store = deps.store.as_ref();
    let read = match route {
        RouteId::EntitiesCreate => store.reserve_entity_id().await.map(|id| id.map(EarlyRead::EntityId)),
        RouteId::ClientsUpdate => match (body.get("email"), body.get("id").and_then(Value::as_u64)) {
            (Some(Value::String(_)), Some(id)) => {
                store.read_client_for_update(id).await.map(|c| c.map(|read| EarlyRead::Client(Box::new(read))))
            }
            _ => Ok(None),
        },
    };
    read.ok().flatten().unwrap_or_default()
}

fn outcome_of(result: RouteResult, route: RouteId, id: &str) -> Outcome {
    match result {
        Ok(data) => Outcome::success(data),
        Err(e) => e.into_outcome(route, id),
    }
}

/// Stage 10a onwards for a request with an `Idempotency-Key`: the handler runs only under a
/// claim of the key, and inside a reserve of the deadline, so that even a panic or a timeout
/// leaves time to keep its answer or release the key.
async fn run_once(keyed: &KeyedRequest<'_>, ctx: Context<'_>, handler: RouteFn) -> Envelope {
    let held = match keyed.claim().await {
        Ok(held) => held,
        Err(answer) => return answer,
    };
    let (route, id, deadline) = (ctx.route, ctx.request_id, ctx.deadline);
    let handler_deadline = deadline - idempotency::RECORD_RESERVE;
    let run = AssertUnwindSafe(handler(Context { deadline: handler_deadline, key: Some(&held), ..ctx })).catch_unwind();
    let outcome = match tokio::time::timeout_at(handler_deadline.into(), run).await {
        Ok(Ok(result)) => outcome_of(result, route, id),
        Ok(Err(_panic)) => cut_short(id, route, "handler panicked"),
        Err(_elapsed) => cut_short(id, route, "request deadline passed"),
    };
    let envelope = Envelope::new(outcome, id);
    keyed.finish(held, &envelope, deadline - FINISH_MARGIN).await;
    envelope
}

/// A run ended by a panic or the deadline: logged, answered `application-crash`.
fn cut_short(id: &str, route: RouteId, why: &'static str) -> Outcome {
    tracing::error!(request_id = %id, route = route.name(), "{why}");
    Outcome::status(Status::ApplicationCrash)
}

/// `application-crash` for a panic or the deadline; once the caller is known, the answer still
/// carries its `session` or `application` object (docs/api.md#envelope).
fn crashed(crash: Outcome, id: &str, caller: Option<&(Caller, CallerObjects)>) -> Envelope {
    let mut envelope = Envelope::new(crash, id);
    if let Some((_, objects)) = caller {
        objects.attach(&mut envelope);
    }
    envelope
}

/// Stages 2–6: registry, content type, size, decoding.
async fn pre_auth(deps: &Deps, route: RouteId, req: &Request) -> Result<Map<String, Value>, Outcome> {
    deps.registry.check(deps.store.as_ref(), route).await?;
    check_content_type(req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()))?;
    let raw: &[u8] = req.body().as_ref();
    check_body_size(raw, MAX_BODY_BYTES)?;
    decode_params(raw, route.sensitive())
}

fn auth_failure(failure: AuthFailure, id: &str) -> Envelope {
    match failure {
        AuthFailure::InvalidToken => Envelope::new(Outcome::status(Status::InvalidToken), id),
        AuthFailure::SessionExpired => Envelope::new(Outcome::status(Status::SessionExpired), id),
        AuthFailure::ClientRequired { session, user } => {
            let mut envelope = Envelope::new(Outcome::status(Status::ClientRequired), id);
            // Always present here, in the default view (docs/api.md#envelope).
            envelope.session = Some(session_view(&session, &user));
            envelope
        }
        AuthFailure::Store(e) => {
            tracing::error!(request_id = %id, error = %e, "store failure during authentication");
            Envelope::new(Outcome::status(Status::ApplicationCrash), id)
        }
    }
}

/// `session_view` / `application_view` as sent: absent or `null` is `default`; an invalid value
/// means no object in the response (the params stage reports it).
fn view_requested(body: &Map<String, Value>, param: &str, valid: &[&str]) -> bool {
    match body.get(param) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => valid.contains(&s.trim()),
        Some(_) => false,
    }
}

/// The `session` / `application` objects of every answer after authentication, made once the
/// caller is known so that any later answer (a crash included) can carry them.
#[derive(Debug, Clone, Default)]
struct CallerObjects {
    session: Option<Value>,
    application: Option<Value>,
}

impl CallerObjects {
    fn of(caller: &Caller, body: &Map<String, Value>) -> CallerObjects {
        match caller {
            Caller::Session { session, user } if view_requested(body, "session_view", SessionView::NAMES) => {
                CallerObjects { session: Some(session_view(session, user)), application: None }
            }
            Caller::Application(app) if view_requested(body, "application_view", ApplicationView::NAMES) => {
                CallerObjects { session: None, application: Some(application_view(app)) }
            }
            _ => CallerObjects::default(),
        }
    }

    fn attach(&self, envelope: &mut Envelope) {
        envelope.session.clone_from(&self.session);
        envelope.application.clone_from(&self.application);
    }
}
