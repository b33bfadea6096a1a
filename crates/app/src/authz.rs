//! Who may do what: the one place authorisation is decided (M14).
//!
//! Every HTTP route names one [`Action`]; the web layer asks [`permits`] before the handler
//! runs, and use cases that act on one hall's or one booking's data ask again with that hall
//! ([`App::require`]), because a hall manager of one hall must not edit another.

use crate::{AppError, AppResult, Code};
use serde::Serialize;
use wujing_domain::staff::{Role, RoleGrant};
use wujing_domain::DeviceKind;

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
    /// The site it stands in (a hall or a self-service point).
    pub hall_id: String,
    /// What machine it is: `bzy`, `qtt`, `wej`, `zjt`, `tbj`, `qzj`, `sqy`, `yyj`, `check_in`,
    /// `rating_terminal` or `display_board`.
    #[schema(value_type = String)]
    pub kind: DeviceKind,
    /// The window it stands at (a 前台通 or a rating terminal).
    pub window_number: Option<u32>,
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
    /// 预约机 (issue 17): booking in the hall for the citizen whose card the machine read, on
    /// the device's channel. A device of the hall only, never staff (staff book by the hotline).
    KioskBook,
    /// 填表机 (issue 17): printing an application form filled from a card or passport read at
    /// the machine. A device of the hall only.
    KioskForm,
    /// 证件通 (issue 17): a foreigner's passport read by the MRZ reader, checked and parsed
    /// into their application or accommodation registration. A device of the hall only.
    KioskPassport,
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
    /// The back office's watch over devices and round-the-clock points (M11): the monitoring
    /// page, clearing a device's alert. Leaders, supervisors and hall managers of the site.
    Monitor,
    /// The leaders' statistics (issue 18): the dashboard and its exports, narrowed to the halls
    /// of the reader's grants. Leaders, supervisors and hall managers.
    ViewStats,
    /// The appraisal page: an officer's own, and those their leaders and supervisors read
    /// (which officers, [`Action::AppraiseOthers`] decides in the use case).
    Appraisal,
    /// Reading another officer's appraisal: leaders and supervisors of the officer's halls.
    AppraiseOthers,
    /// The capacity advisor (issue 18 §3): a hall's coming days, windows needed against
    /// planned, expected waits, pool changes. Leaders, supervisors and hall managers of the hall.
    Capacity,
    /// The 申请易 kiosk (issue 17): checking a photo, the fingerprint plan, submitting a
    /// passport application with its biometrics. Only a device of kind `sqy`, never staff.
    KioskSqy,
    /// The 前台通 at a counter (issue 17): the card read into its window's console, the
    /// window's fee charged on its terminal. Only a device of kind `qtt`, never staff.
    KioskQtt,
    /// A 办证易 or 网e捷 kiosk (issue 17): the fees due of the card holder and their payment on
    /// the machine's terminal. Devices of those kinds only, never staff.
    KioskPay,
    /// A 办证易 kiosk's self-service re-issue of HK/Macao tourist endorsements (RULES.md §6).
    Endorse,
    /// A 网e捷 kiosk: the card holder's applications, the way of collection, on-site
    /// production ("立等可取").
    KioskStatus,
}

impl Action {
    /// Which roles permit the action (anywhere, or in the hall they are granted for).
    fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::Public | Action::Kiosk | Action::Staff => &[],
            // Leaders and hall managers steer their halls (issue 15 §12): their halls' signals,
            // alerts and audit trail, scoped by `hall_scope` to the halls of their grants.
            Action::ViewSignals => &[Leader, Supervisor, HallManager, Admin],
            Action::ViewAudit => &[Leader, Supervisor, HallManager, Admin],
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
            Action::Rate | Action::Locker | Action::KioskSqy | Action::KioskQtt => &[],
            Action::KioskPay | Action::Endorse | Action::KioskStatus => &[],
            Action::KioskBook | Action::KioskForm | Action::KioskPassport => &[],
            Action::Alerts => &[Leader, Supervisor, HallManager, Admin],
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
            Action::Monitor | Action::Capacity => &[Leader, Supervisor, HallManager, Admin],
            Action::ViewStats => &[Leader, Supervisor, HallManager, Admin],
            Action::Appraisal => &[Officer, Leader, Supervisor, Admin],
            Action::AppraiseOthers => &[Leader, Supervisor, Admin],
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
        // A device does what its kind may, in its own site only.
        _ if matches!(p, Principal::Device(_)) => {
            let Principal::Device(d) = p else {
                unreachable!()
            };
            device_may(d.kind, action) && hall.is_none_or(|h| h == d.hall_id)
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
        // The locker opens for the citizen's code, not for staff; the kiosk modes' actions are
        // the machines' own, for the citizen at the machine (an officer works the counter's
        // routes instead).
        Action::Locker | Action::KioskSqy | Action::KioskQtt => false,
        Action::KioskPay | Action::Endorse | Action::KioskStatus => false,
        Action::KioskBook | Action::KioskForm | Action::KioskPassport => false,
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

/// What each kind of machine may do (M8): the one table of devices' rights. Every device reaches
/// the public routes and its own (`Kiosk`: who am I, heartbeats); beyond those a check-in
/// kiosk and the appointment machine check bookings in, the window machines (rating terminal,
/// 前台通) take the rating, the pickup locker opens for a citizen's code, 办证易 and 网e捷 take the
/// card holder's fees due, 办证易 re-issues endorsements, 网e捷 shows the holder's applications;
/// nothing else.
pub fn device_may(kind: DeviceKind, action: Action) -> bool {
    use DeviceKind::*;
    match action {
        Action::Public | Action::Kiosk => true,
        Action::CheckIn => matches!(kind, CheckIn | Yuyueji),
        Action::Rate => matches!(kind, RatingTerminal | Qiantaitong),
        Action::Locker => matches!(kind, Quzhengji),
        Action::KioskSqy => matches!(kind, Shenqingyi),
        Action::KioskQtt => matches!(kind, Qiantaitong),
        Action::KioskPay => matches!(kind, Banzhengyi | Wangejie),
        Action::Endorse => matches!(kind, Banzhengyi),
        Action::KioskStatus => matches!(kind, Wangejie),
        Action::KioskBook => matches!(kind, Yuyueji),
        Action::KioskForm => matches!(kind, Tianbiaoji),
        Action::KioskPassport => matches!(kind, Zhengjiantong),
        _ => false,
    }
}

/// Whether `p` may act for `window` of its site: a device bound to a window only for that one
/// (a rating terminal rates its own window's tickets); anyone else as `permits` decided.
pub fn at_window(p: &Principal, window: u32) -> bool {
    match p {
        Principal::Device(d) => d.window_number.is_none_or(|w| w == window),
        _ => true,
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
    fn statistics_are_for_leaders_and_appraisals_of_others_for_their_leaders() {
        let leader = staff(&[(Role::Leader, Some("gz-tianhe"))]);
        let officer = staff(&[(Role::Officer, Some("gz-tianhe"))]);
        let manager = staff(&[(Role::HallManager, Some("gz-tianhe"))]);
        assert!(permits(&leader, Action::ViewStats, Some("gz-tianhe")));
        assert!(!permits(&leader, Action::ViewStats, Some("gz-yuexiu")));
        assert!(permits(&manager, Action::ViewStats, Some("gz-tianhe")));
        assert!(!permits(&officer, Action::ViewStats, None));
        assert_eq!(
            hall_scope(&leader, Action::ViewStats),
            Some(vec!["gz-tianhe".to_string()])
        );
        // Every officer reaches the appraisal page (their own); only leaders and supervisors
        // read others', and a hall manager neither.
        assert!(permits(&officer, Action::Appraisal, None));
        assert!(!permits(&officer, Action::AppraiseOthers, None));
        assert!(permits(&leader, Action::AppraiseOthers, Some("gz-tianhe")));
        assert!(!permits(&manager, Action::Appraisal, None));
        let supervisor = staff(&[(Role::Supervisor, None)]);
        assert_eq!(hall_scope(&supervisor, Action::AppraiseOthers), None);
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

    fn device(kind: DeviceKind, window: Option<u32>) -> Principal {
        Principal::Device(DevicePrincipal {
            id: 7,
            name: "machine".into(),
            hall_id: "gz-tianhe".into(),
            kind,
            window_number: window,
        })
    }

    /// The matrix per kind: each device action is allowed to exactly the kinds of the table, in
    /// the device's own site only, and a device reaches no staff action whatever its kind.
    #[test]
    fn each_kind_of_device_does_only_its_own_actions() {
        use DeviceKind::*;
        let expected: [(Action, &[DeviceKind]); 3] = [
            (Action::CheckIn, &[CheckIn, Yuyueji]),
            (Action::Rate, &[RatingTerminal, Qiantaitong]),
            (Action::Locker, &[Quzhengji]),
        ];
        for kind in DeviceKind::ALL {
            let window = kind.needs_window().then_some(4);
            let d = device(kind, window);
            assert!(permits(&d, Action::Kiosk, None), "{kind:?}");
            assert!(permits(&d, Action::Public, None), "{kind:?}");
            for (action, kinds) in &expected {
                let may = kinds.contains(&kind);
                assert_eq!(permits(&d, *action, None), may, "{kind:?} {action:?}");
                assert_eq!(
                    permits(&d, *action, Some("gz-tianhe")),
                    may,
                    "{kind:?} {action:?} in its site"
                );
                assert!(
                    !permits(&d, *action, Some("gz-yuexiu")),
                    "{kind:?} {action:?} in another site"
                );
            }
            for a in [
                Action::Staff,
                Action::Counter,
                Action::Monitor,
                Action::ManageDevices,
                Action::Alerts,
                Action::Hotline,
                Action::ProductionBatches,
            ] {
                assert!(!permits(&d, a, Some("gz-tianhe")), "{kind:?} {a:?}");
            }
        }
        // A check-in kiosk may not rate; a rating terminal may not check in.
        assert!(!permits(&device(CheckIn, None), Action::Rate, None));
        assert!(!permits(
            &device(RatingTerminal, Some(4)),
            Action::CheckIn,
            None
        ));
        // A window machine acts for its own window only.
        assert!(at_window(&device(RatingTerminal, Some(4)), 4));
        assert!(!at_window(&device(RatingTerminal, Some(4)), 5));
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
        assert_eq!(hall_scope(&org_leader, Action::ViewAudit), None);
        // A hall manager reads their own hall's trail only; an officer none.
        let manager = staff(&[
            (Role::HallManager, Some("gz-yuexiu")),
            (Role::Officer, Some("gz-tianhe")),
        ]);
        assert_eq!(
            hall_scope(&manager, Action::ViewAudit),
            Some(vec!["gz-yuexiu".to_string()])
        );
        assert!(!permits(
            &staff(&[(Role::Officer, Some("gz-tianhe"))]),
            Action::ViewAudit,
            None
        ));
        assert_eq!(
            hall_scope(&staff(&[(Role::Admin, None)]), Action::ViewAudit),
            None
        );
    }
}
