//! The review state machine of a case, and who may move a case along it.
//!
//! The rules are data ([`TRANSITIONS`]) so the server enforces exactly what the device does.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// The role a person holds. A role is a property of the person, not of the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Officer,
    TeamLeader,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Officer, Role::TeamLeader, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::TeamLeader => "team_leader",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Officer => "officer",
            Role::TeamLeader => "team leader",
            Role::Admin => "admin",
        })
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s.trim())
            .ok_or_else(|| DomainError::UnknownRole {
                value: s.chars().take(40).collect(),
            })
    }
}

/// Where a case is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseStatus {
    Open,
    InProgress,
    Submitted,
    Approved,
    Returned,
    Closed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 6] = [
        Self::Open,
        Self::InProgress,
        Self::Submitted,
        Self::Approved,
        Self::Returned,
        Self::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Returned => "returned",
            Self::Closed => "closed",
        }
    }

    /// Whether an officer's work on the case (fields, visits, answers) may still change.
    /// A submitted case waits for review; an approved or closed one is the record.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Open | Self::InProgress | Self::Returned)
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Open => "open",
            Self::InProgress => "in progress",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Returned => "returned",
            Self::Closed => "closed",
        })
    }
}

impl FromStr for CaseStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.code() == s.trim())
            .ok_or_else(|| DomainError::UnknownStatus {
                value: s.chars().take(40).collect(),
            })
    }
}

/// One allowed move of the state machine and the roles that may make it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub roles: &'static [Role],
}

use CaseStatus::*;
use Role::*;

/// Every allowed transition. Anything not listed is refused.
#[rustfmt::skip]
pub const TRANSITIONS: &[Transition] = &[
    Transition { from: Open, to: InProgress, roles: &[Officer, TeamLeader, Admin] },
    Transition { from: InProgress, to: Submitted, roles: &[Officer, TeamLeader, Admin] },
    Transition { from: Submitted, to: Approved, roles: &[TeamLeader, Admin] },
    Transition { from: Submitted, to: Returned, roles: &[TeamLeader, Admin] },
    Transition { from: Returned, to: InProgress, roles: &[Officer, TeamLeader, Admin] },
    Transition { from: Approved, to: Closed, roles: &[TeamLeader, Admin] },
];

/// Check that `role` may move a case from `from` to `to`.
pub fn check_transition(from: CaseStatus, to: CaseStatus, role: Role) -> Result<(), DomainError> {
    let Some(t) = TRANSITIONS.iter().find(|t| t.from == from && t.to == to) else {
        return Err(DomainError::TransitionNotAllowed {
            from: from.to_string(),
            to: to.to_string(),
        });
    };
    if t.roles.contains(&role) {
        Ok(())
    } else {
        Err(DomainError::RoleMayNotTransition {
            role: role.to_string(),
            from: from.to_string(),
            to: to.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_review_path_is_allowed_for_the_right_roles() {
        let cases = [
            (Open, InProgress, Officer, true),
            (InProgress, Submitted, Officer, true),
            (Submitted, Approved, Officer, false),
            (Submitted, Returned, Officer, false),
            (Submitted, Approved, TeamLeader, true),
            (Submitted, Returned, TeamLeader, true),
            (Returned, InProgress, Officer, true),
            (Approved, Closed, Officer, false),
            (Approved, Closed, TeamLeader, true),
            (Approved, Closed, Admin, true),
            (Open, Approved, Admin, false),
            (Closed, Open, Admin, false),
            (Submitted, InProgress, TeamLeader, false),
        ];
        for (from, to, role, ok) in cases {
            assert_eq!(
                check_transition(from, to, role).is_ok(),
                ok,
                "{from} -> {to} by {role}"
            );
        }
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            check_transition(Submitted, Approved, Officer).map_err(|e| e.code()),
            Err("role_may_not_transition")
        );
        assert_eq!(
            check_transition(Open, Closed, Admin).map_err(|e| e.code()),
            Err("transition_not_allowed")
        );
    }

    #[test]
    fn codes_round_trip() {
        for s in CaseStatus::ALL {
            assert_eq!(s.code().parse::<CaseStatus>(), Ok(s));
        }
        for r in Role::ALL {
            assert_eq!(r.code().parse::<Role>(), Ok(r));
        }
        assert!("boss".parse::<Role>().is_err());
    }
}

crate::code_enum_in_automerge!(CaseStatus, "a case status");
