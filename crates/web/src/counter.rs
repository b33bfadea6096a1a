//! Hall operations over HTTP: check-in (kiosk or reception), the counter's calls and actions,
//! the fee at the window, the day's reconciliation, and the officer's counter console page.

use crate::extract::{
    list, ApiJson, ApiPath, ApiQuery, ClientAddr, Flash, PageContext, PageForm, PageQuery,
};
use crate::kiosk::{KioskQuery, Shell};
use crate::pages::{back, render};
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use wujing_app::hall::{CheckInInput, CounterAction, FeeInput, TicketView};
use wujing_app::{
    Action, AppResult, Application, BookingView, Payment, Principal, ReconLine, UrgentRequest,
};

/// Checks a booking in at the hall: a kiosk of the hall, or reception.
///
/// Only within the check-in window of its time, with the identity it was booked for, and once.
/// Without `code`, reception finds today's booking at this hall by the identity number.
#[utoipa::path(post, path = "/api/v1/halls/{id}/checkins", tag = "counter", security(("session" = [], "csrf" = []), ("device" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    request_body = CheckInInput,
    responses((status = 201, body = TicketView),
              (status = 400, description = "an identity number's code (`id_number_length`, `id_number_checksum`, …)"),
              (status = 404, description = "`booking_not_found` (also for an identity that does not match)"),
              (status = 409, description = "`booking_not_active`, `wrong_hall`, `checkin_too_early`, `checkin_too_late`, `already_checked_in`")))]
pub async fn check_in(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(i): ApiJson<CheckInInput>,
) -> ApiResult<(StatusCode, Json<TicketView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.check_in(&p, &hall, addr.as_deref(), &i).await?),
    ))
}

/// The hall's tickets of today.
#[utoipa::path(get, path = "/api/v1/halls/{id}/tickets", tag = "counter", security(("session" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    responses((status = 200, body = Vec<TicketView>)))]
pub async fn tickets(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Json<Vec<TicketView>>> {
    Ok(Json(s.app.hall_tickets(&p, &hall).await?))
}

/// Calls the next ticket of the queues the window serves (audited).
#[utoipa::path(post, path = "/api/v1/halls/{id}/windows/{number}/call", tag = "counter", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("number" = u32, Path, description = "Window number in the hall")),
    responses((status = 200, body = TicketView, description = "The called ticket"),
              (status = 204, description = "Nobody is waiting"),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`window_not_found`")))]
pub async fn call_next(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, window)): ApiPath<(String, u32)>,
) -> ApiResult<Response> {
    Ok(
        match s.app.call_next(&p, &hall, window, addr.as_deref()).await? {
            Some(t) => Json(t).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    )
}

/// Moves a ticket: start, finish, recall, no-show, requeue, park, unpark or transfer (audited).
#[utoipa::path(post, path = "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/action", tag = "counter", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("number" = u32, Path, description = "Window number in the hall"), ("ticket" = i64, Path, description = "Ticket id (the `id` of a ticket, not its label)")),
    request_body = CounterAction,
    responses((status = 200, body = TicketView),
              (status = 400, description = "`queue_invalid`, `path_invalid`"),
              (status = 404, description = "`window_not_found`, `ticket_not_found`"),
              (status = 409, description = "`ticket_state`")))]
pub async fn action(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, window, ticket)): ApiPath<(String, u32, i64)>,
    ApiJson(a): ApiJson<CounterAction>,
) -> ApiResult<Json<TicketView>> {
    Ok(Json(
        s.app
            .counter_action(&p, &hall, window, addr.as_deref(), ticket, &a)
            .await?,
    ))
}

/// Takes the fee of the ticket being served (audited).
///
/// The amount comes from the fee schedule; the answer carries the numbered receipt.
#[utoipa::path(post, path = "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/fee", tag = "counter", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("number" = u32, Path, description = "Window number in the hall"), ("ticket" = i64, Path, description = "Ticket id (the `id` of a ticket, not its label)")),
    request_body = FeeInput,
    responses((status = 201, body = Payment),
              (status = 400, description = "`method_invalid`, `reference_required`, `path_invalid`"),
              (status = 404, description = "`window_not_found`"),
              (status = 409, description = "`ticket_state` (not being served at this window), `already_paid`")))]
pub async fn fee(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, window, ticket)): ApiPath<(String, u32, i64)>,
    ApiJson(f): ApiJson<FeeInput>,
) -> ApiResult<(StatusCode, Json<wujing_app::Payment>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .take_fee(&p, &hall, window, addr.as_deref(), ticket, &f)
                .await?,
        ),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The day, YYYY-MM-DD; today when absent.
    day: Option<chrono::NaiveDate>,
}

/// A day's takings: count and sum per window and payment method.
#[utoipa::path(get, path = "/api/v1/halls/{id}/reconciliation", tag = "counter", security(("session" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), DayQuery),
    responses((status = 200, body = Vec<ReconLine>),
              (status = 400, description = "`query_invalid`")))]
pub async fn reconciliation(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(hall): ApiPath<String>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Json<Vec<wujing_app::ReconLine>>> {
    Ok(Json(s.app.reconciliation(&p, &hall, q.day).await?))
}

// --- The counter console -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "counter.html")]
struct CounterPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    hall: String,
    /// The hall's name, for the heading.
    hall_name: String,
    window: u32,
    current: Option<TicketView>,
    applicant: Option<BookingView>,
    fee: u32,
    waiting: usize,
    parked: Vec<TicketView>,
    materials: Vec<&'static str>,
    application: Option<wujing_app::Application>,
    paid: bool,
    urgent_reasons: Vec<(&'static str, &'static str, &'static str)>,
    missed: Vec<TicketView>,
    /// What the identity-card lookup found (after a lookup only).
    lookup: Option<LookupShown>,
    /// What the window's 前台通 read from the card for the current ticket (issue 17): name,
    /// number masked, and whether its identity differs from the ticket's.
    card_read: Option<(String, String, bool)>,
    /// Business codes and their Chinese names.
    businesses: Vec<(String, String)>,
}

impl CounterPage {
    /// A code (an urgent reason) in words.
    fn words(&self, code: &str) -> String {
        crate::labels::staff_words(code, self.page.en)
    }

    /// A ticket's state in words (the console never shows a raw code).
    fn ticket_status(&self, s: &str) -> String {
        // In the page's language only: the English word is the stored code itself.
        crate::labels::staff_words(s, self.page.en)
    }

    /// A business's name from its code.
    fn business(&self, code: &str) -> String {
        self.businesses
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| code.to_string())
    }

    /// An application's state in words.
    fn application_status(&self, s: &str) -> String {
        // In the page's language: some English names are the stored codes themselves.
        wujing_domain::application::State::parse(s).map_or_else(
            || "其他".to_string(),
            |st| crate::labels::staff_words(st.as_str(), self.page.en),
        )
    }

    /// Whether a ticket is at the window now: the next one may not be called until it is
    /// finished, parked or marked missed.
    fn busy(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|t| t.status == "called" || t.status == "serving")
    }
}

/// The lookup's findings with names for the screen.
struct LookupShown {
    /// The identity number as typed, masked.
    who: String,
    supplements: Vec<LookupRow>,
    to_collect: Vec<LookupRow>,
}

struct LookupRow {
    id: i64,
    business: String,
    hall: String,
    missing: String,
    due: String,
    collection: String,
}

pub async fn console(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath((hall, window)): ApiPath<(String, u32)>,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let (msg, msg_kind) = q.shown();
    console_page(&s, page, hall, window, msg, msg_kind, None).await
}

async fn console_page(
    s: &AppState,
    page: PageContext,
    hall: String,
    window: u32,
    msg: String,
    msg_kind: String,
    lookup: Option<LookupShown>,
) -> ApiResult<Response> {
    let all = s.app.hall_tickets(&page.principal, &hall).await?;
    let mine: Vec<&TicketView> = all.iter().filter(|t| t.window == Some(window)).collect();
    let current = mine
        .iter()
        .find(|t| t.status == "called" || t.status == "serving")
        .map(|t| (*t).clone());
    let parked = mine
        .iter()
        .filter(|t| t.status == "parked")
        .map(|t| (*t).clone())
        .collect();
    let case = match &current {
        Some(t) => Some(s.app.counter_case(&page.principal, &hall, t.id).await?),
        None => None,
    };
    let (applicant, fee, materials, application, paid) = match case {
        Some(c) => (c.applicant, c.fee, c.materials, c.application, c.paid),
        None => (None, 0, vec![], None, false),
    };
    let card_read = match &current {
        Some(t) => s
            .app
            .counter_card_read(&page.principal, &hall, window, t.id)
            .await?
            .map(|c| (c.name, c.id_number_masked, !c.matches_ticket)),
        None => None,
    };
    let waiting = all.iter().filter(|t| t.status == "waiting").count();
    let hall_name = s.app.hall(&hall).await?.name_zh;
    let businesses = s
        .app
        .catalogue
        .businesses()
        .map(|b| (b.code.clone(), b.name_zh.clone()))
        .collect();
    Ok(render(&CounterPage {
        page,
        msg,
        msg_kind,
        hall_name,
        businesses,
        hall,
        window,
        current,
        applicant,
        fee,
        waiting,
        parked,
        materials,
        application,
        paid,
        urgent_reasons: wujing_app::hall::URGENT_REASONS.to_vec(),
        missed: all
            .iter()
            .filter(|t| t.status == "missed")
            .cloned()
            .collect(),
        lookup,
        card_read,
    }))
}

/// An application id from the console's form.
fn form_id(s: &str) -> AppResult<i64> {
    s.trim()
        .parse()
        .map_err(|_| wujing_app::AppError::from(wujing_app::Code::ApplicationNotFound))
}

/// The counter's identity-card lookup: answered on the console itself (a POST, so that the
/// identity number never sits in a URL or an access log).
async fn lookup_shown(
    s: &AppState,
    p: &Principal,
    hall: &str,
    addr: Option<&str>,
    id_number: &str,
) -> AppResult<LookupShown> {
    let found = s.app.counter_lookup(p, hall, addr, id_number).await?;
    let halls = s.app.halls().await?;
    let row = |a: &wujing_app::Application| LookupRow {
        id: a.id,
        business: s
            .app
            .business(&a.business)
            .map_or_else(|_| a.business.clone(), |b| b.name_zh),
        hall: halls
            .iter()
            .find(|h| h.id == a.hall_id)
            .map_or_else(|| a.hall_id.clone(), |h| h.name_zh.clone()),
        missing: a.missing.join("、"),
        due: a.supplement_due.map(|d| d.to_string()).unwrap_or_default(),
        collection: wujing_domain::application::Collection::parse(&a.collection_method)
            .map_or_else(|| a.collection_method.clone(), |c| c.name_zh().to_string()),
    };
    Ok(LookupShown {
        who: wujing_domain::idnum::mask_id_number(id_number.trim()),
        supplements: found.pending_supplement.iter().map(row).collect(),
        to_collect: found.to_collect.iter().map(row).collect(),
    })
}

/// A counter console form: the ticket acted on (none to call the next), and the `op` with what
/// it needs.
#[derive(Deserialize)]
pub struct ConsoleForm {
    #[serde(default)]
    ticket: i64,
    #[serde(flatten)]
    op: ConsoleOp,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum ConsoleOp {
    Next,
    /// Accept the application; `present` lists the materials ticked as brought; `collection`
    /// how the document reaches the applicant.
    Accept {
        #[serde(default, deserialize_with = "list")]
        present: Vec<String>,
        #[serde(default)]
        collection: String,
        #[serde(default)]
        mail_address: String,
    },
    /// Find the presenting person's supplements (any hall) and documents ready here.
    Lookup {
        id_number: String,
    },
    /// The missing materials of application `application` brought to this counter.
    Supplement {
        application: String,
    },
    /// Hand over the document of `application`, signed for.
    Collect {
        application: String,
        #[serde(default)]
        signed: String,
    },
    Urgent {
        // Absent when nothing was chosen: the use case then says to choose one.
        #[serde(default)]
        reason: String,
        #[serde(default)]
        note: String,
    },
    Fee {
        method: String,
        #[serde(default)]
        reference: String,
    },
    Recall,
    Start,
    Finish,
    NoShow,
    Park,
    Unpark,
    Requeue,
    Transfer {
        queue: String,
    },
}

pub async fn console_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, window)): ApiPath<(String, u32)>,
    form: Result<PageForm<ConsoleForm>, ApiError>,
) -> Response {
    let p = &page.principal;
    // A lookup answers on the console page itself, with what it found.
    if let Ok(PageForm(ConsoleForm {
        op: ConsoleOp::Lookup { id_number },
        ..
    })) = &form
    {
        let (found, msg, kind) = match lookup_shown(&s, p, &hall, addr.as_deref(), id_number).await
        {
            Ok(l) => (Some(l), String::new(), String::new()),
            Err(e) => (None, e.zh.clone(), "error".to_string()),
        };
        return match console_page(&s, page.clone(), hall, window, msg, kind, found).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
    }
    let r: AppResult<String> = async {
        let PageForm(ConsoleForm { ticket, op }) = form.map_err(|e| e.0)?;
        let action = match op {
            ConsoleOp::Next => {
                return Ok(
                    match s.app.call_next(p, &hall, window, addr.as_deref()).await? {
                        Some(t) => format!("请 {} 号到 {} 号窗口", t.label, window),
                        None => "没有等候的号".into(),
                    },
                )
            }
            ConsoleOp::Lookup { .. } => unreachable!("answered above"),
            ConsoleOp::Supplement { application } => {
                let application = form_id(&application)?;
                s.app
                    .supplement(p, &hall, addr.as_deref(), application)
                    .await?;
                return Ok(format!("申请 {application} 材料已补齐，转入审批"));
            }
            ConsoleOp::Collect {
                application,
                signed,
            } => {
                let application = form_id(&application)?;
                s.app
                    .collect_at_counter(
                        p,
                        addr.as_deref(),
                        application,
                        &wujing_app::lifecycle::CollectInput {
                            signed: !signed.is_empty(),
                        },
                    )
                    .await?;
                return Ok(format!("申请 {application} 的证件已交付，申请人已签收"));
            }
            ConsoleOp::Accept {
                present,
                collection,
                mail_address,
            } => {
                let collection =
                    (!collection.is_empty()).then_some(wujing_app::lifecycle::CollectionInput {
                        method: collection,
                        mail_address: Some(mail_address),
                    });
                let a = s
                    .app
                    .accept_presented(
                        p,
                        &hall,
                        window,
                        addr.as_deref(),
                        ticket,
                        &wujing_app::hall::Presented {
                            present,
                            collection,
                        },
                    )
                    .await?;
                return Ok(match a.supplement_due {
                    Some(d) => format!("已受理，待补正材料，补正期限 {d}"),
                    None => format!("已受理，预计 {} 可取证", a.ready_by),
                });
            }
            ConsoleOp::Urgent { reason, note } => {
                s.app
                    .request_urgent(
                        p,
                        &hall,
                        window,
                        addr.as_deref(),
                        ticket,
                        &wujing_app::hall::UrgentInput { reason, note },
                    )
                    .await?;
                return Ok("已提交领导岗审批".into());
            }
            ConsoleOp::Fee { method, reference } => {
                let pay = s
                    .app
                    .take_fee(
                        p,
                        &hall,
                        window,
                        addr.as_deref(),
                        ticket,
                        &FeeInput { method, reference },
                    )
                    .await?;
                return Ok(format!(
                    "已收费 {} 元，收据 {}",
                    pay.amount_yuan, pay.receipt_no
                ));
            }
            ConsoleOp::Recall => CounterAction::Recall,
            ConsoleOp::Start => CounterAction::Start,
            ConsoleOp::Finish => CounterAction::Finish,
            ConsoleOp::NoShow => CounterAction::NoShow,
            ConsoleOp::Park => CounterAction::Park,
            ConsoleOp::Unpark => CounterAction::Unpark,
            ConsoleOp::Requeue => CounterAction::Requeue,
            ConsoleOp::Transfer { queue } => CounterAction::TransferLast { queue },
        };
        let t = s
            .app
            .counter_action(p, &hall, window, addr.as_deref(), ticket, &action)
            .await?;
        Ok(format!(
            "{}：{}",
            t.label,
            wujing_app::hall::ticket_status_words(&t.status).0
        ))
    }
    .await;
    // The console is a Chinese screen whatever the browser's language.
    back(
        &format!(
            "/staff/counter/{}/{window}",
            crate::extract::percent_encode(&hall)
        ),
        r,
        false,
    )
}

// --- Acceptance, refunds, the leader post, walk-ins, receipts --------------------------------------

/// Accepts the application of the ticket being served (audited).
///
/// Complete, or pending a supplement with a deadline when `missing` lists materials.
#[utoipa::path(post, path = "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/accept", tag = "counter", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("number" = u32, Path, description = "Window number in the hall"), ("ticket" = i64, Path, description = "Ticket id (the `id` of a ticket, not its label)")),
    request_body = wujing_app::hall::AcceptInput,
    responses((status = 201, body = Application),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`window_not_found`"),
              (status = 409, description = "`ticket_state`, `already_accepted`")))]
pub async fn accept(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, window, ticket)): ApiPath<(String, u32, i64)>,
    ApiJson(a): ApiJson<wujing_app::hall::AcceptInput>,
) -> ApiResult<(StatusCode, Json<wujing_app::Application>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .accept_application(&p, &hall, window, addr.as_deref(), ticket, &a)
                .await?,
        ),
    ))
}

/// Refunds a ticket's payment (leaders; audited); the reconciliation leaves it out.
#[utoipa::path(post, path = "/api/v1/halls/{id}/tickets/{ticket}/refund", tag = "counter", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("ticket" = i64, Path, description = "Ticket id (the `id` of a ticket, not its label)")),
    responses((status = 204, description = "Refunded"),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`ticket_not_found`"),
              (status = 409, description = "`not_refundable`")))]
pub async fn refund(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, ticket)): ApiPath<(String, i64)>,
) -> ApiResult<StatusCode> {
    s.app.refund(&p, &hall, addr.as_deref(), ticket).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the case to the leader post for expediting (audited).
#[utoipa::path(post, path = "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/urgent", tag = "counter", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("number" = u32, Path, description = "Window number in the hall"), ("ticket" = i64, Path, description = "Ticket id (the `id` of a ticket, not its label)")),
    request_body = wujing_app::hall::UrgentInput,
    responses((status = 201, body = UrgentRequest),
              (status = 400, description = "`reason_invalid`, `path_invalid`"),
              (status = 404, description = "`window_not_found`"),
              (status = 409, description = "`ticket_state`, `urgent_open`")))]
pub async fn urgent(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, window, ticket)): ApiPath<(String, u32, i64)>,
    ApiJson(u): ApiJson<wujing_app::hall::UrgentInput>,
) -> ApiResult<(StatusCode, Json<wujing_app::UrgentRequest>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .request_urgent(&p, &hall, window, addr.as_deref(), ticket, &u)
                .await?,
        ),
    ))
}

/// Open urgent requests of the halls the leader covers.
#[utoipa::path(get, path = "/api/v1/urgent", tag = "urgent", security(("session" = [])),
    responses((status = 200, body = Vec<UrgentRequest>)))]
pub async fn urgent_list(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<wujing_app::UrgentRequest>>> {
    Ok(Json(s.app.urgent_requests(&p).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Decision {
    approved: bool,
}

/// The leader's decision (audited): approval puts the ticket first and expedites it.
#[utoipa::path(post, path = "/api/v1/urgent/{id}/decision", tag = "urgent", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Urgent request id")),
    request_body = Decision,
    responses((status = 204, description = "Decided"),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`urgent_not_found`"),
              (status = 409, description = "`urgent_decided`")))]
pub async fn urgent_decide(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> ApiResult<StatusCode> {
    s.app
        .decide_urgent(&p, addr.as_deref(), id, d.approved)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A walk-in number at reception.
///
/// Only at halls with on-site seats; eligibility is checked as for a booking.
#[utoipa::path(post, path = "/api/v1/halls/{id}/walk-ins", tag = "counter", security(("session" = [], "csrf" = []), ("device" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    request_body = wujing_app::hall::WalkInInput,
    responses((status = 201, body = TicketView),
              (status = 400, description = "`name_required`; an identity number's code (`id_number_length`, `id_number_checksum`, …)"),
              (status = 404, description = "`hall_not_found`"),
              (status = 409, description = "`no_walk_ins`"),
              (status = 422, description = "`not_eligible`, with `details.reasons`; `unknown_business`")))]
pub async fn walk_in(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(w): ApiJson<wujing_app::hall::WalkInInput>,
) -> ApiResult<(StatusCode, Json<TicketView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.walk_in(&p, &hall, addr.as_deref(), &w).await?),
    ))
}

/// The receipt of a ticket's payment, as a PDF.
#[utoipa::path(get, path = "/api/v1/halls/{id}/tickets/{ticket}/receipt.pdf", tag = "counter", security(("session" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("ticket" = i64, Path, description = "Ticket id (the `id` of a ticket, not its label)")),
    responses((status = 200, description = "The receipt", content_type = "application/pdf", body = inline(crate::api::Pdf)),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`ticket_not_found`, `payment_not_found`"),
              (status = 503, description = "`form_unavailable` (no CJK font on the server)")))]
pub async fn receipt(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath((hall, ticket)): ApiPath<(String, i64)>,
) -> ApiResult<Response> {
    let pdf = s.app.receipt_pdf(&p, &hall, ticket).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

#[derive(Template)]
#[template(path = "urgent.html")]
struct UrgentPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    /// Each open request with its ticket's business and applicant, masked.
    requests: Vec<(wujing_app::UrgentRequest, wujing_app::ratings::TicketParty)>,
    /// Every hall's id and name.
    halls: Vec<(String, String)>,
}

impl UrgentPage {
    /// The reason in words in the page's language, as the officer chose it.
    fn reason(&self, code: &str) -> String {
        crate::labels::staff_words(code, self.page.en)
    }

    /// A hall's name.
    fn hall(&self, id: &str) -> String {
        hall_name(&self.halls, id)
    }

    /// When it was asked, in the halls' time.
    fn asked_at(&self, u: &wujing_app::UrgentRequest) -> String {
        u.created_at
            .with_timezone(&wujing_domain::calendar::china_offset())
            .format("%m-%d %H:%M")
            .to_string()
    }
}

pub async fn urgent_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let requests = s.app.urgent_requests_shown(&page.principal).await?;
    let (msg, msg_kind) = q.shown();
    Ok(render(&UrgentPage {
        page,
        msg,
        msg_kind,
        requests,
        halls: hall_names(&s).await?,
    }))
}

/// The leader's decision from the urgent page: the same as the API's (`approved=true|false`).
pub async fn urgent_page_decide(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    form: Result<PageForm<Decision>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(Decision { approved }) = form.map_err(|e| e.0)?;
        s.app
            .decide_urgent(&page.principal, addr.as_deref(), id, approved)
            .await?;
        Ok(if approved {
            "已批准加急"
        } else {
            "已驳回"
        }
        .to_string())
    }
    .await;
    back("/staff/urgent", r, false)
}

/// Every site's id and its name, for pages that show names rather than ids.
async fn hall_names(s: &AppState) -> ApiResult<Vec<(String, String)>> {
    Ok(s.app
        .halls()
        .await?
        .into_iter()
        .map(|h| (h.id, h.name_zh))
        .collect())
}

/// A site's name among `halls`, or its id when it is not there.
fn hall_name(halls: &[(String, String)], id: &str) -> String {
    halls
        .iter()
        .find(|(h, _)| h == id)
        .map_or_else(|| id.to_string(), |(_, n)| n.clone())
}

#[derive(Template)]
#[template(path = "reconciliation.html")]
struct ReconPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    /// The halls the caller reconciles: id and name.
    halls: Vec<(String, String)>,
    hall: String,
    hall_name: String,
    day: String,
    lines: Vec<wujing_app::ReconLine>,
    totals: Vec<(String, u32, u64)>,
    total: u64,
    /// Every payment of the day, refunded ones included.
    payments: Vec<wujing_app::hall::DayPaymentView>,
}

impl ReconPage {
    /// A payment method in words.
    fn method(&self, m: &str) -> &'static str {
        match m {
            "card" => "银行卡 Bank card",
            "qr" => "扫码 QR code",
            "cash" => "现金 Cash",
            _ => "其他 Other",
        }
    }
}

#[derive(Deserialize)]
pub struct ReconQuery {
    hall: Option<String>,
    #[serde(default, deserialize_with = "serde_html_form::de::empty_as_none")]
    day: Option<chrono::NaiveDate>,
}

/// The day's takings per window and method, and per hall.
pub async fn reconciliation_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<ReconQuery>,
) -> ApiResult<Response> {
    let p = &page.principal;
    let halls: Vec<(String, String)> = hall_names(&s)
        .await?
        .into_iter()
        .filter(|(h, _)| wujing_app::authz::permits(p, Action::Reconcile, Some(h)))
        .collect();
    let hall = q
        .hall
        .filter(|h| halls.iter().any(|(id, _)| id == h))
        .or_else(|| halls.first().map(|(id, _)| id.clone()))
        .unwrap_or_default();
    let day = q.day.unwrap_or_else(|| s.app.clock.today());
    let lines = s.app.reconciliation(p, &hall, Some(day)).await?;
    let mut totals: std::collections::BTreeMap<String, (u32, u64)> = Default::default();
    for l in &lines {
        let e = totals.entry(l.method.clone()).or_default();
        e.0 += l.count;
        e.1 += l.sum_yuan;
    }
    let total = lines.iter().map(|l| l.sum_yuan).sum();
    let payments = s.app.day_payments(p, &hall, day).await?;
    Ok(render(&ReconPage {
        payments,
        page,
        msg: String::new(),
        msg_kind: String::new(),
        hall_name: hall_name(&halls, &hall),
        halls,
        hall,
        day: day.to_string(),
        lines,
        totals: totals.into_iter().map(|(m, (c, s))| (m, c, s)).collect(),
        total,
    }))
}

/// The day's transactions as a CSV file (audited as `reconciliation.export`).
pub async fn reconciliation_csv(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageQuery(q): PageQuery<ReconQuery>,
) -> ApiResult<Response> {
    // Without a hall: the first the caller reconciles, as the page chooses.
    let hall = match q.hall.filter(|h| !h.is_empty()) {
        Some(h) => h,
        None => s
            .app
            .halls()
            .await?
            .into_iter()
            .map(|h| h.id)
            .find(|h| wujing_app::authz::permits(&page.principal, Action::Reconcile, Some(h)))
            .unwrap_or_default(),
    };
    let day = q.day.unwrap_or_else(|| s.app.clock.today());
    let body = s
        .app
        .day_payments_csv(&page.principal, addr.as_deref(), &hall, day)
        .await?;
    let name = format!("reconciliation-{hall}-{day}.csv");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    crate::extract::percent_encode(&name)
                ),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "kiosk.html")]
struct KioskPage {
    /// The kiosk shell: the site, the start address, the language and mode.
    shell: Shell,
    /// Why the check-in was refused, in each language.
    msg: (String, String),
    /// What to do about it, in each language.
    help: (String, String),
    ticket: Option<TicketView>,
    /// The business's names, on the printed ticket.
    business_zh: String,
    business_en: String,
    /// When the ticket was issued (hall time), for the printed ticket.
    issued: String,
}

impl KioskPage {
    async fn new(s: &AppState, p: &Principal, q: &KioskQuery, headers: &HeaderMap) -> Self {
        Self {
            shell: Shell::new(s, p, q, headers, "/kiosk").await,
            msg: Default::default(),
            help: Default::default(),
            ticket: None,
            business_zh: String::new(),
            business_en: String::new(),
            issued: String::new(),
        }
    }

    fn t(&self, zh: &str, en: &str) -> String {
        self.shell.t(zh, en)
    }

    fn msg_text(&self) -> String {
        self.t(&self.msg.0, &self.msg.1)
    }

    fn help_text(&self) -> String {
        self.t(&self.help.0, &self.help.1)
    }

    /// The letters the keypad offers: those a booking code is made of (no I, L, O: they are
    /// never in a code), so that a code can be typed by touch.
    fn letters(&self) -> Vec<char> {
        wujing_app::CODE_ALPHABET
            .iter()
            .filter(|b| b.is_ascii_alphabetic())
            .map(|&b| b as char)
            .collect()
    }
}

/// Splits one of [`kiosk_help`]'s texts (`zh · en`) into its languages.
fn split_lang(both: &str) -> (String, String) {
    match both.split_once(" · ") {
        Some((zh, en)) => (zh.to_string(), en.to_string()),
        None => (both.to_string(), both.to_string()),
    }
}

/// What the citizen at the kiosk can do about a refused check-in.
fn kiosk_help(code: wujing_app::Code) -> &'static str {
    use wujing_app::Code;
    match code {
        Code::CheckinTooEarly => {
            "请在上述时间后再来签到，可先在大厅休息区等候 · Please check in from that time; you may wait in the hall meanwhile"
        }
        Code::CheckinTooLate => {
            "请到咨询台改约或现场取号 · Please reschedule or take a walk-in number at the information desk"
        }
        Code::AlreadyCheckedIn => {
            "您已签到，请留意叫号屏 · You are checked in; please watch the board"
        }
        c if c == Code::BookingNotFound || c.as_str().starts_with("id_number") => {
            "请核对预约号和身份证号码后重试，或到咨询台查询 · Check the booking code and the ID number, or ask at the information desk"
        }
        _ => "请到咨询台，工作人员将协助您 · Please ask at the information desk",
    }
}

/// The check-in kiosk's screen (a device of the hall).
pub async fn kiosk(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<KioskQuery>,
) -> Response {
    crate::with_kiosk_policy(render(
        &KioskPage::new(&s, &page.principal, &q, &headers).await,
    ))
}

/// The kiosk's form is the check-in's input: the slip's code or QR content, and the identity
/// number (typed on the keypad, or put there by the bridge's card reader: the server cannot
/// tell, and need not — the check-in's rules are the same).
pub async fn kiosk_submit(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    PageQuery(q): PageQuery<KioskQuery>,
    form: Result<PageForm<CheckInInput>, ApiError>,
) -> Response {
    let p = &page.principal;
    let mut screen = KioskPage::new(&s, p, &q, &headers).await;
    let Principal::Device(d) = p else {
        screen.msg = (
            "此页面仅供自助终端使用".into(),
            "This page is for the hall's kiosks".into(),
        );
        return crate::with_kiosk_policy(render(&screen));
    };
    let checked_in = match form {
        Ok(PageForm(input)) => s.app.check_in(p, &d.hall_id, addr.as_deref(), &input).await,
        Err(e) => Err(e.0),
    };
    match checked_in {
        Ok(t) => {
            if let Some(b) = s.app.catalogue.business(&t.business) {
                screen.business_zh = b.name_zh.clone();
                screen.business_en = b.name_en.clone();
            }
            screen.issued = s
                .app
                .clock
                .now()
                .with_timezone(&wujing_domain::calendar::china_offset())
                .format("%Y-%m-%d %H:%M")
                .to_string();
            screen.ticket = Some(t);
        }
        Err(e) => {
            screen.msg = (e.message(false).to_string(), e.message(true).to_string());
            screen.help = split_lang(kiosk_help(e.code));
        }
    }
    crate::with_kiosk_policy(render(&screen))
}

/// The ticket a kiosk just issued, as a PDF for its bridge's printer (docs/KIOSK.md §5).
pub async fn kiosk_ticket_pdf(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let pdf = s.app.kiosk_ticket_pdf(&page.principal, id).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        pdf,
    )
        .into_response())
}
