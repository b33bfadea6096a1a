//! Who may do what: the one place authorisation is decided (M14).
//!
//! Every HTTP route names one [`Action`]; the web layer asks [`permits`] before the handler
//! runs, and use cases that act on one hall's or one booking's data ask again with that hall
//! ([`App::require`]), because a hall manager of one hall must not edit another.

use crate::{AppError, AppResult, Code};
use serde::Serialize;
use wujing_domain::staff::{Role, RoleGrant};

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    Anonymous,
    Staff(StaffPrincipal),
    Device(DevicePrincipal),
    /// Another organisation's system with a bearer token: the production centre (制证中心).
    System(SystemPrincipal),
}

#[derive(Clone)]
pub struct StaffPrincipal {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<RoleGrant>,
    /// The session's CSRF token; state-changing requests made with the session cookie must
    /// echo it.
    pub csrf_token: String,
    pub(crate) session_hash: String,
}

impl std::fmt::Debug for StaffPrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffPrincipal")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// A device as it sees itself (`GET /api/v1/kiosk/me`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DevicePrincipal {
    pub id: i64,
    pub name: String,
    pub hall_id: String,
}

/// A system client as it sees itself: `kind` is what it may act as (`production_centre`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SystemPrincipal {
    pub id: i64,
    pub name: String,
    pub kind: String,
}

/// The one kind of system client there is.
pub const PRODUCTION_CENTRE: &str = "production_centre";

/// What a route does, as far as permission goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Citizen-facing: anyone, including kiosks and staff.
    Public,
    /// A kiosk device's own endpoints.
    Kiosk,
    /// Any signed-in staff member: home page, own password, sign-out.
    Staff,
    /// Scalping signals and (later) statistics.
    ViewSignals,
    /// Reading the audit trail.
    ViewAudit,
    /// A booking's details with personal data masked.
    LookupBooking,
    /// A full identity number or phone (audited).
    RevealIdentity,
    ManageStaff,
    ManageDevices,
    /// A hall's name, windows, calendar and capacity; a site's names, address, hours and
    /// businesses (its hall manager may edit the site they manage).
    ManageHalls,
    /// Creating sites and listing all of them (issue 13 §2): organisation-level, so
    /// administrators only.
    ManageSites,
    /// The authority's face (name, signature of texts, hotline, notices, emblem; issue 15):
    /// organisation-level, administrators only.
    ManageAuthority,
    /// Working a counter: check-in at reception, calling, serving, taking the fee.
    Counter,
    /// The day's payments per window and method.
    Reconcile,
    /// Checking a booking in: a kiosk of the hall, or reception staff.
    CheckIn,
    /// A rating terminal (a device of the hall) taking the citizen's rating.
    Rate,
    /// Alerts raised by ratings: see and acknowledge them.
    Alerts,
    /// Refunding a payment.
    Refund,
    /// The leader post: deciding urgent requests.
    Urgent,
    /// A payment's receipt: the counter that took it and those who reconcile.
    Receipts,
    /// Reviewing applications (审批): the review queue, an application and its history,
    /// starting review, approving, refusing, asking for a supplement.
    Review,
    /// Production steps of an application (制证) taken by staff, one at a time, and the
    /// producers' page: in production, produced with its document number, dispatched, ready
    /// for collection. Staff only; the production centre's system has
    /// [`Action::ProductionBatches`].
    Produce,
    /// The production centre's API (`/api/v1/production/…`): making and reading batches,
    /// reporting a document produced or dispatched. The centre's system, and staff who produce
    /// (with their session; their view of applicants is masked).
    ProductionBatches,
    /// Acting as the production centre itself: reading the applicants' names and identity
    /// numbers unmasked, to print them on the documents (audited). Only a system principal of
    /// kind `production_centre`, never staff, not even an administrator.
    ProductionCentre,
    /// Creating and revoking system clients.
    ManageSystemClients,
    /// The pickup locker (取证机), a device of the hall: a citizen collecting a document with
    /// the identity number and the pickup code. Never staff: staff hand documents over at a
    /// counter, with the identity check.
    Locker,
    /// Booking for a caller on the telephone channel (the hotline's page and API): the seat
    /// search, the code to the caller's phone, the booking confirmed with that code.
    Hotline,
    /// The operational metrics (`/metrics`): request and business counters, no personal data,
    /// but the organisation's activity, which is not the public's to watch live.
    ViewMetrics,
    /// A police station's accommodation registrations (issue 14 §3): the worklist, a record,
    /// the export, verifying a host's registration. Officers and leaders granted for the
    /// station's site.
    Lodging,
    /// Registering hotels for a police station: its hall manager and leaders.
    ManageHotels,
    /// A hotel's own registrations (its API token or its page's session): only a system
    /// principal of kind `hotel`.
    Hotel,
}

impl Action {
    /// Which roles permit the action (anywhere, or in the hall they are granted for).
    fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::Public | Action::Kiosk | Action::Staff => &[],
            Action::ViewSignals => &[Leader, Supervisor, Admin],
            Action::ViewAudit => &[Supervisor, Admin],
            Action::LookupBooking => &[Officer, Supervisor, HallManager, Admin],
            Action::RevealIdentity => &[Officer, Supervisor, Admin],
            Action::ManageStaff
            | Action::ManageDevices
            | Action::ManageSites
            | Action::ManageAuthority => &[Admin],
            Action::ManageHalls => &[HallManager, Admin],
            Action::Counter => &[Officer, Admin],
            Action::Reconcile => &[Leader, HallManager, Admin],
            Action::CheckIn => &[Officer, Admin],
            Action::Rate | Action::Locker => &[],
            Action::Alerts => &[Leader, Supervisor, Admin],
            Action::Refund | Action::Urgent => &[Leader, Admin],
            Action::Receipts => &[Officer, Leader, HallManager, Admin],
            Action::ViewMetrics => &[Admin],
            Action::Review => &[Reviewer, Admin],
            Action::Produce => &[Producer, Admin],
            Action::ProductionBatches => &[Producer, Admin],
            Action::ProductionCentre => &[],
            Action::ManageSystemClients => &[Admin],
            Action::Hotline => &[Hotline, Admin],
            Action::Lodging => &[Officer, Leader, Admin],
            Action::ManageHotels => &[HallManager, Leader, Admin],
            Action::Hotel => &[],
        }
    }
}

fn grant_covers(g: &RoleGrant, hall: Option<&str>) -> bool {
    match (&g.hall, hall) {
        (None, _) => true,
        (Some(_), None) => true,
        (Some(mine), Some(h)) => mine == h,
    }
}

/// Whether `p` may do `action`, in `hall` when the action concerns one hall's data.
pub fn permits(p: &Principal, action: Action, hall: Option<&str>) -> bool {
    match action {
        Action::Public => true,
        Action::Kiosk => matches!(p, Principal::Device(_)),
        Action::Staff => matches!(p, Principal::Staff(_)),
        Action::CheckIn | Action::Rate | Action::Locker if matches!(p, Principal::Device(_)) => {
            let Principal::Device(d) = p else {
                unreachable!()
            };
            hall.is_none_or(|h| h == d.hall_id)
        }
        // The rating is the citizen's voice: only the window's terminal takes it, never staff.
        Action::Rate => false,
        // The centre works for every hall: its applications come from all of them.
        Action::ProductionCentre => {
            matches!(p, Principal::System(s) if s.kind == PRODUCTION_CENTRE)
        }
        Action::ProductionBatches if matches!(p, Principal::System(_)) => {
            permits(p, Action::ProductionCentre, hall)
        }
        // The locker opens for the citizen's code, not for staff.
        Action::Locker => false,
        // A hotel acts only for itself; staff register nothing as a hotel.
        Action::Hotel => matches!(p, Principal::System(s) if s.kind == crate::lodging::HOTEL),
        _ => match p {
            Principal::Staff(s) => s.roles.iter().any(|g| {
                (g.role == Role::Admin || action.roles().contains(&g.role)) && grant_covers(g, hall)
            }),
            _ => false,
        },
    }
}

/// Which halls' data `p` may read under `action`, for the reads that span halls (the audit
/// trail, scalping signals): `None` for the whole organisation (an administrator, or a grant of
/// a permitting role without a hall), else the halls of its permitting grants — what the store
/// query is then narrowed to. Call after [`permits`] said yes.
pub fn hall_scope(p: &Principal, action: Action) -> Option<Vec<String>> {
    let Principal::Staff(s) = p else {
        return Some(Vec::new());
    };
    let mut halls = Vec::new();
    for g in &s.roles {
        if g.role != Role::Admin && !action.roles().contains(&g.role) {
            continue;
        }
        match &g.hall {
            None => return None,
            Some(h) if !halls.contains(h) => halls.push(h.clone()),
            Some(_) => {}
        }
    }
    Some(halls)
}

/// The answer when `permits` says no: 401 for nobody, 403 for somebody.
pub fn denied(p: &Principal) -> AppError {
    match p {
        Principal::Anonymous => {
            AppError::new(Code::SignInRequired, "请先登录", "please sign in first")
        }
        _ => AppError::new(
            Code::Forbidden,
            "您没有执行此操作的权限",
            "you are not allowed to do this",
        ),
    }
}

impl crate::App {
    /// Route-level and hall-level checks use this one function.
    pub fn require(&self, p: &Principal, action: Action, hall: Option<&str>) -> AppResult<()> {
        if permits(p, action, hall) {
            Ok(())
        } else {
            Err(denied(p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(grants: &[(Role, Option<&str>)]) -> Principal {
        Principal::Staff(StaffPrincipal {
            id: 1,
            username: "u".into(),
            display_name: "U".into(),
            roles: grants
                .iter()
                .map(|(r, h)| RoleGrant {
                    role: *r,
                    hall: h.map(str::to_string),
                })
                .collect(),
            csrf_token: String::new(),
            session_hash: String::new(),
        })
    }

    #[test]
    fn hall_scope_limits_hall_managers() {
        let m = staff(&[(Role::HallManager, Some("gz-tianhe"))]);
        assert!(permits(&m, Action::ManageHalls, None));
        assert!(permits(&m, Action::ManageHalls, Some("gz-tianhe")));
        assert!(!permits(&m, Action::ManageHalls, Some("gz-yuexiu")));
        assert!(!permits(&m, Action::ManageStaff, None));
        let admin = staff(&[(Role::Admin, None)]);
        assert!(permits(&admin, Action::ManageHalls, Some("gz-yuexiu")));
        assert!(!permits(&admin, Action::Kiosk, None));
        assert!(!permits(&Principal::Anonymous, Action::Staff, None));
    }

    fn centre() -> Principal {
        Principal::System(SystemPrincipal {
            id: 1,
            name: "centre".into(),
            kind: PRODUCTION_CENTRE.into(),
        })
    }

    #[test]
    fn only_the_production_centre_reads_applicants_unmasked_and_it_reaches_nothing_else() {
        let c = centre();
        assert!(permits(&c, Action::ProductionCentre, None));
        assert!(permits(&c, Action::ProductionBatches, Some("gz-tianhe")));
        let admin = staff(&[(Role::Admin, None)]);
        let producer = staff(&[(Role::Producer, None)]);
        assert!(!permits(&admin, Action::ProductionCentre, None));
        assert!(!permits(&producer, Action::ProductionCentre, None));
        assert!(permits(&producer, Action::ProductionBatches, None));
        assert!(!permits(
            &staff(&[(Role::Reviewer, None)]),
            Action::ProductionBatches,
            None
        ));
        for a in [
            Action::Staff,
            Action::Produce,
            Action::Review,
            Action::Counter,
            Action::Kiosk,
            Action::ManageSystemClients,
            Action::ViewAudit,
            Action::RevealIdentity,
        ] {
            assert!(!permits(&c, a, None), "{a:?}");
        }
        assert_eq!(hall_scope(&c, Action::ProductionBatches), Some(vec![]));
    }

    #[test]
    fn audit_and_signals_are_scoped_to_the_halls_of_the_permitting_grants() {
        let hall_leader = staff(&[(Role::Leader, Some("gz-tianhe"))]);
        assert_eq!(
            hall_scope(&hall_leader, Action::ViewSignals),
            Some(vec!["gz-tianhe".to_string()])
        );
        // An officer's grant elsewhere does not widen a supervisor's reading.
        let mixed = staff(&[
            (Role::Supervisor, Some("gz-tianhe")),
            (Role::Officer, Some("gz-yuexiu")),
        ]);
        assert_eq!(
            hall_scope(&mixed, Action::ViewAudit),
            Some(vec!["gz-tianhe".to_string()])
        );
        let org_leader = staff(&[(Role::Leader, None), (Role::Supervisor, Some("gz-tianhe"))]);
        assert_eq!(hall_scope(&org_leader, Action::ViewSignals), None);
        assert_eq!(
            hall_scope(&org_leader, Action::ViewAudit),
            Some(vec!["gz-tianhe".to_string()])
        );
        assert_eq!(
            hall_scope(&staff(&[(Role::Admin, None)]), Action::ViewAudit),
            None
        );
    }
}
