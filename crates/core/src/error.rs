//! Domain errors. Each has a stable, machine-readable code: front ends choose what to show by
//! code and never match on message text.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DomainError {
    #[error("'{value}' is not a valid id")]
    InvalidId { value: String },
    #[error("'{value}' is not a real date: use YYYY-MM-DD, for example 2026-03-31")]
    InvalidDate { value: String },
    #[error("the location is not possible: {reason}")]
    InvalidLocation { reason: String },
    #[error("enter a title")]
    EmptyTitle,
    #[error("enter the text of the note")]
    EmptyNote,
    #[error("enter a name of 1 to 100 characters")]
    InvalidName,
    #[error("{field} contains control characters; use plain text")]
    ControlCharacters { field: &'static str },
    #[error("template '{template}' is not for {kind} cases")]
    TemplateNotForKind { template: String, kind: String },
    #[error("{field} must be {max} characters or fewer (it has {actual})")]
    TooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("'{value}' is not a UK postcode, for example SW1A 2AA")]
    InvalidPostcode { value: String },
    #[error("'{value}' is not a UPRN: a UPRN is a whole number of 1 to 12 digits")]
    InvalidUprn { value: String },
    #[error("'{value}' is not a case reference, for example FH-2026-1-0042")]
    InvalidReference { value: String },
    #[error("'{value}' is not a case kind (one of: {known})")]
    UnknownCaseKind { value: String, known: String },
    #[error(
        "'{value}' is not a case status (one of: open, in_progress, submitted, approved, returned, closed)"
    )]
    UnknownStatus { value: String },
    #[error("'{value}' is not a role (one of: officer, team_leader, admin)")]
    UnknownRole { value: String },
    #[error("a case cannot go from {from} to {to}")]
    TransitionNotAllowed { from: String, to: String },
    #[error("a {role} may not move a case from {from} to {to}")]
    RoleMayNotTransition {
        role: String,
        from: String,
        to: String,
    },
    #[error("this case is {status} and cannot be changed")]
    CaseLocked { status: String },
    #[error("there is no template '{id}' version {version}")]
    UnknownTemplate { id: String, version: u32 },
    #[error("template '{template}' has no question '{item}'")]
    UnknownItem { template: String, item: String },
    #[error("this case has no visit {visit}")]
    UnknownVisit { visit: String },
    #[error("this case has no photo {photo}")]
    UnknownPhoto { photo: String },
    #[error("this case has no note {note}")]
    UnknownNote { note: String },
    #[error("{label}: {reason}")]
    InvalidAnswer {
        item: String,
        label: String,
        reason: String,
    },
    #[error("visit {visit} is missing required answers: {}", missing.join(", "))]
    VisitIncomplete { visit: String, missing: Vec<String> },
    #[error("record at least one visit before submitting the case for review")]
    NoVisits,
    #[error("template is invalid: {0}")]
    InvalidTemplate(String),
    #[error("only a team leader or an administrator may assign a case to someone")]
    MayNotReassign,
    #[error(
        "{point} is outside the area of the British National Grid transformation (OSTN15), which covers Great Britain and its nearby waters"
    )]
    OutsideNationalGrid { point: String },
    #[error(
        "the ward boundary file cannot be used: {}{reason}",
        feature.as_deref().map(|f| format!("{f}: ")).unwrap_or_default()
    )]
    InvalidWardBoundaries {
        /// The feature at fault ("feature 3 (E05000001 Abbey)"), when it is one feature.
        feature: Option<String>,
        reason: String,
    },
    #[error("gazetteer line {line}: {reason}")]
    InvalidGazetteerRow { line: u64, reason: String },
}

impl DomainError {
    /// The stable code front ends and scripts match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidId { .. } => "invalid_id",
            Self::InvalidDate { .. } => "invalid_date",
            Self::InvalidLocation { .. } => "invalid_location",
            Self::EmptyTitle => "empty_title",
            Self::EmptyNote => "empty_note",
            Self::InvalidName => "invalid_name",
            Self::ControlCharacters { .. } => "control_characters",
            Self::TemplateNotForKind { .. } => "template_not_for_kind",
            Self::TooLong { .. } => "too_long",
            Self::InvalidPostcode { .. } => "invalid_postcode",
            Self::InvalidUprn { .. } => "invalid_uprn",
            Self::InvalidReference { .. } => "invalid_reference",
            Self::UnknownCaseKind { .. } => "unknown_case_kind",
            Self::UnknownStatus { .. } => "unknown_status",
            Self::UnknownRole { .. } => "unknown_role",
            Self::TransitionNotAllowed { .. } => "transition_not_allowed",
            Self::RoleMayNotTransition { .. } => "role_may_not_transition",
            Self::CaseLocked { .. } => "case_locked",
            Self::UnknownTemplate { .. } => "unknown_template",
            Self::UnknownItem { .. } => "unknown_item",
            Self::UnknownVisit { .. } => "unknown_visit",
            Self::UnknownPhoto { .. } => "unknown_photo",
            Self::UnknownNote { .. } => "unknown_note",
            Self::InvalidAnswer { .. } => "invalid_answer",
            Self::VisitIncomplete { .. } => "visit_incomplete",
            Self::NoVisits => "no_visits",
            Self::InvalidTemplate(_) => "invalid_template",
            Self::MayNotReassign => "may_not_reassign",
            Self::OutsideNationalGrid { .. } => "outside_national_grid",
            Self::InvalidWardBoundaries { .. } => "invalid_ward_boundaries",
            Self::InvalidGazetteerRow { .. } => "invalid_gazetteer_row",
        }
    }
}
