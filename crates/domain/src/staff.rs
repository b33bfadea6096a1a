//! Staff roles (M14): who may act, and where.

use serde::{Deserialize, Serialize};

/// A staff role. Which actions each role permits is decided in the `app` crate's `authz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Counter officer: accepts applications at a window.
    Officer,
    /// Leader on duty: receives alerts and steers by the statistics.
    Leader,
    /// Staff-supervision office: reads the audit trail and the complaint record.
    Supervisor,
    /// Manages one hall's calendar, windows and capacity.
    HallManager,
    /// Everything, organisation-wide.
    Admin,
    /// Reviews accepted applications (审批): approves or refuses them, in a hall's queue or
    /// the organisation's.
    Reviewer,
    /// Production (制证) by staff: makes batches (granted organisation-wide), marks
    /// applications produced (with the document number), dispatched and arrived. The
    /// production centre's own system is a system principal, not a staff role.
    Producer,
    /// Hotline operator (电话预约坐席): books for a caller on the telephone channel; the caller
    /// confirms with the code sent to their own phone. Organisation-wide.
    Hotline,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Officer,
        Role::Leader,
        Role::Supervisor,
        Role::HallManager,
        Role::Admin,
        Role::Reviewer,
        Role::Producer,
        Role::Hotline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Leader => "leader",
            Role::Supervisor => "supervisor",
            Role::HallManager => "hall_manager",
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Producer => "producer",
            Role::Hotline => "hotline",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Officer => "窗口民警",
            Role::Leader => "值班领导",
            Role::Supervisor => "督察",
            Role::HallManager => "大厅管理员",
            Role::Admin => "系统管理员",
            Role::Reviewer => "审批民警",
            Role::Producer => "制证人员",
            Role::Hotline => "热线坐席",
        }
    }

    /// Whether a grant of this role names a hall. Officers and hall managers work in halls;
    /// leaders, supervisors, reviewers and producers may be scoped to halls or
    /// organisation-wide; administrators are always organisation-wide.
    pub fn hall_scoped(self) -> bool {
        matches!(self, Role::Officer | Role::HallManager)
    }
}

/// A role, organisation-wide (`hall: None`) or in one hall.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleGrant {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
}
