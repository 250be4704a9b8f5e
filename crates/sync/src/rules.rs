//! What the server lets a device's changes do to a case, and what it sends a device that lacks
//! changes. [`apply_push`] is the whole decision for one pushed case: it merges the changes into
//! the stored document and accepts the result only if every new change is the device's own and
//! the case, before and after, is one this person may change in the way it changed. A refusal
//! leaves nothing behind (the caller simply does not store the document).

use std::collections::{BTreeSet, VecDeque};

use automerge::{ActorId, AutoCommit, ChangeHash};
use fieldbook_core::{Case, CaseStatus, PersonId, Role, TRANSITIONS};

/// Who is pushing: the device's person, their role, and the automerge actors the device was
/// registered with (a device writes only as its own actors).
#[derive(Debug, Clone)]
pub struct Rights {
    pub person: PersonId,
    /// Other ids the same person is known by: each device mints a person id when it is set up,
    /// before it ever meets the server, and cases created there carry it. The server records
    /// each registered device's id for its user and passes them all here.
    pub aliases: Vec<PersonId>,
    pub role: Role,
    pub actors: Vec<ActorId>,
    /// Whether the case (as the server holds it) belongs to this person's team. Team leaders
    /// may change their team's cases; the server knows teams, documents do not.
    pub in_team: bool,
}

/// The facts about a case the server keeps beside its document, for visibility and lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMeta {
    pub kind: String,
    pub status: String,
    pub created_by: String,
    pub assignee: Option<String>,
    /// The SHA-256 of every photo and thumbnail the case refers to: who may fetch which blob.
    pub blobs: Vec<String>,
}

impl CaseMeta {
    pub fn of(case: &Case) -> Self {
        let mut blobs: Vec<String> = case
            .photos
            .values()
            .flat_map(|p| std::iter::once(p.sha256.clone()).chain(p.thumb_sha256.clone()))
            .collect();
        blobs.sort();
        blobs.dedup();
        Self {
            kind: case.kind.code().to_string(),
            status: case.status.code().to_string(),
            created_by: case.created_by.to_string(),
            assignee: case.assignee.map(|p| p.to_string()),
            blobs,
        }
    }
}

/// A push the server accepts: the document to store and what it now says.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The whole document, saved.
    pub doc: Vec<u8>,
    pub heads: Vec<ChangeHash>,
    pub meta: CaseMeta,
    /// False when the push held nothing new (a replay): store nothing, bump no sequence.
    pub changed: bool,
}

/// Why a pushed case was refused. [`Refusal::code`] is stable and machine-readable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the changes could not be read: {0}")]
    Malformed(String),
    #[error(
        "the changes build on changes the server does not have: send the whole case (empty base heads)"
    )]
    MissingDependencies,
    #[error("a change was made by {actor}, which is not this device")]
    ForeignActor { actor: String },
    #[error("the document is not a valid case: {0}")]
    InvalidCase(String),
    #[error("the document is case {found}, not {expected}")]
    CaseMismatch { expected: String, found: String },
    #[error("this case is not yours to change")]
    NotYourCase,
    #[error("a case's {field} cannot change")]
    ImmutableField { field: &'static str },
    #[error("only a team leader or an administrator may reassign a case")]
    MayNotReassign,
    #[error("a {role} may not move a case from {from} to {to}")]
    TransitionNotAllowed {
        role: String,
        from: String,
        to: String,
    },
    #[error("a visit is missing required answers, so the case cannot be submitted: {0}")]
    VisitIncomplete(String),
    #[error(
        "this case is {status} on the server, so its details, visits and answers cannot change"
    )]
    CaseLocked { status: String },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_changes",
            Self::MissingDependencies => "missing_dependencies",
            Self::ForeignActor { .. } => "foreign_actor",
            Self::InvalidCase(_) => "invalid_case",
            Self::CaseMismatch { .. } => "case_mismatch",
            Self::NotYourCase => "not_your_case",
            Self::ImmutableField { .. } => "immutable_field",
            Self::MayNotReassign => "may_not_reassign",
            Self::TransitionNotAllowed { .. } => "transition_not_allowed",
            Self::VisitIncomplete(_) => "visit_incomplete",
            Self::CaseLocked { .. } => "case_locked",
        }
    }
}

/// Change hashes as the wire carries them.
pub fn heads_hex(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ToString::to_string).collect()
}

/// Change hashes from the wire.
pub fn parse_heads(heads: &[String]) -> Result<Vec<ChangeHash>, Refusal> {
    heads
        .iter()
        .map(|h| {
            h.parse::<ChangeHash>()
                .map_err(|_| Refusal::Malformed(format!("'{h}' is not a change hash")))
        })
        .collect()
}

fn hydrate(doc: &AutoCommit) -> Result<Case, Refusal> {
    fieldbook_core::read::hydrate_case(doc).map_err(|e| Refusal::InvalidCase(e.to_string()))
}

/// Merge a device's pushed `changes` for `case_id` into the server's `stored` document (None:
/// a case the server has never seen) and decide whether to keep the result.
///
/// `device_heads` are the device's heads with these changes; they must all be in the merged
/// document (the server then knows the device holds them, and sends it only what follows).
pub fn apply_push(
    stored: Option<&[u8]>,
    case_id: &str,
    changes: &[u8],
    device_heads: &[ChangeHash],
    rights: &Rights,
) -> Result<Applied, Refusal> {
    let mut doc = match stored {
        Some(bytes) => AutoCommit::load(bytes).map_err(|e| Refusal::Malformed(e.to_string()))?,
        None => AutoCommit::new(),
    };
    let before = match stored {
        Some(_) => Some(hydrate(&doc)?),
        None => None,
    };
    let before_heads = doc.get_heads();
    doc.load_incremental(changes)
        .map_err(|e| Refusal::Malformed(e.to_string()))?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(Refusal::MissingDependencies);
    }
    if let Some(h) = device_heads
        .iter()
        .find(|h| doc.get_change_by_hash(h).is_none())
    {
        return Err(Refusal::Malformed(format!(
            "the device's head {h} is not among its changes"
        )));
    }
    let new_changes = doc.get_changes(&before_heads);
    if new_changes.is_empty() {
        let case = before.ok_or_else(|| Refusal::Malformed("no changes".into()))?;
        // A replay (the ack was lost) names the heads it brought; the person must have been
        // able to change the case then or now. Bytes that carry no change and name no heads
        // are not a replay.
        let held = match stored {
            Some(bytes) if !device_heads.is_empty() => held_at(bytes, device_heads, rights)?,
            _ => false,
        };
        if !may_touch(&case, rights) && !held {
            return Err(Refusal::NotYourCase);
        }
        if device_heads.is_empty() && !changes.is_empty() {
            return Err(Refusal::Malformed(
                "the pushed bytes hold no automerge changes".into(),
            ));
        }
        return Ok(Applied {
            doc: stored.map(<[u8]>::to_vec).unwrap_or_default(),
            heads: before_heads,
            meta: CaseMeta::of(&case),
            changed: false,
        });
    }
    for c in &new_changes {
        if !rights.actors.contains(c.actor_id()) {
            return Err(Refusal::ForeignActor {
                actor: c.actor_id().to_hex_string(),
            });
        }
    }
    let after = hydrate(&doc)?;
    if after.id.to_string() != case_id {
        return Err(Refusal::CaseMismatch {
            expected: case_id.to_string(),
            found: after.id.to_string(),
        });
    }
    match (&before, stored) {
        (Some(b), Some(bytes)) => {
            let allowed = may_touch(b, rights) || held_when_made(bytes, &new_changes, rights)?;
            check_change(b, &after, rights, allowed)?
        }
        _ => check_new(&after, rights)?,
    }
    Ok(Applied {
        doc: doc.save(),
        heads: doc.get_heads(),
        meta: CaseMeta::of(&after),
        changed: true,
    })
}

impl Rights {
    fn is(&self, person: PersonId) -> bool {
        person == self.person || self.aliases.contains(&person)
    }
}

fn check_new(after: &Case, rights: &Rights) -> Result<(), Refusal> {
    if rights.role != Role::Admin && !rights.is(after.created_by) {
        return Err(Refusal::NotYourCase);
    }
    if rights.role == Role::Officer && after.assignee.is_some_and(|a| !rights.is(a)) {
        return Err(Refusal::MayNotReassign);
    }
    check_status(CaseStatus::Open, after, rights.role)
}

fn may_touch(before: &Case, rights: &Rights) -> bool {
    match rights.role {
        Role::Admin => true,
        Role::TeamLeader => rights.in_team || rights.is(before.created_by),
        Role::Officer => {
            rights.is(before.created_by) || before.assignee.is_some_and(|a| rights.is(a))
        }
    }
}

/// Whether the person could change the case as it stood when these changes were made (the
/// state they build on). A case reassigned away while an officer worked offline still takes the
/// work they did while it was theirs: their unsynced edits are accepted, then it leaves them.
fn held_when_made(
    stored: &[u8],
    new_changes: &[automerge::Change],
    rights: &Rights,
) -> Result<bool, Refusal> {
    let new: std::collections::HashSet<ChangeHash> = new_changes.iter().map(|c| c.hash()).collect();
    let mut base: Vec<ChangeHash> = new_changes
        .iter()
        .flat_map(|c| c.deps().iter().copied())
        .filter(|d| !new.contains(d))
        .collect();
    base.sort();
    base.dedup();
    if base.is_empty() {
        return Ok(false);
    }
    held_at(stored, &base, rights)
}

/// Whether the person could change the case as it stood at `heads` (all in `stored`).
fn held_at(stored: &[u8], heads: &[ChangeHash], rights: &Rights) -> Result<bool, Refusal> {
    let mut doc = AutoCommit::load(stored).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let then = doc
        .fork_at(heads)
        .map_err(|e| Refusal::Malformed(e.to_string()))?;
    Ok(may_touch(&hydrate(&then)?, rights))
}

fn check_change(
    before: &Case,
    after: &Case,
    rights: &Rights,
    may_touch: bool,
) -> Result<(), Refusal> {
    if !may_touch {
        return Err(Refusal::NotYourCase);
    }
    for (field, same) in [
        ("reference", before.reference == after.reference),
        ("kind", before.kind == after.kind),
        ("creator", before.created_by == after.created_by),
        ("creation time", before.created_at == after.created_at),
    ] {
        if !same {
            return Err(Refusal::ImmutableField { field });
        }
    }
    if before.assignee != after.assignee && rights.role == Role::Officer {
        return Err(Refusal::MayNotReassign);
    }
    if !before.status.is_editable() && rights.role != Role::Admin {
        // Status moves and notes are what a locked case still takes; anything else is refused.
        let mut a = after.clone();
        a.status = before.status;
        a.notes = before.notes.clone();
        a.assignee = before.assignee;
        if &a != before {
            return Err(Refusal::CaseLocked {
                status: before.status.to_string(),
            });
        }
    }
    check_status(before.status, after, rights.role)
}

/// The status may only have moved along the review path, by steps this role may take (a device
/// offline may take several: open → in progress → submitted).
fn check_status(from: CaseStatus, after: &Case, role: Role) -> Result<(), Refusal> {
    let to = after.status;
    if from == to {
        return Ok(());
    }
    let mut seen = BTreeSet::from([from.code()]);
    let mut queue = VecDeque::from([from]);
    let mut reached = false;
    while let Some(s) = queue.pop_front() {
        for t in TRANSITIONS
            .iter()
            .filter(|t| t.from == s && t.roles.contains(&role))
        {
            if t.to == to {
                reached = true;
            }
            if seen.insert(t.to.code()) {
                queue.push_back(t.to);
            }
        }
    }
    if !reached {
        return Err(Refusal::TransitionNotAllowed {
            role: role.code().to_string(),
            from: from.code().to_string(),
            to: to.code().to_string(),
        });
    }
    if to == CaseStatus::Submitted {
        if after.visits.is_empty() {
            return Err(Refusal::VisitIncomplete("no visit recorded".into()));
        }
        let mut missing = Vec::new();
        for v in after.visits.values() {
            missing.extend(
                v.missing_required()
                    .map_err(|e| Refusal::InvalidCase(e.to_string()))?,
            );
        }
        if !missing.is_empty() {
            return Err(Refusal::VisitIncomplete(missing.join(", ")));
        }
    }
    Ok(())
}

/// What to send a device for a case: the changes after `known` (heads the server knows the
/// device holds), or the whole document when it knows of none or they are not in `doc`.
pub fn changes_since(doc: &[u8], known: &[ChangeHash]) -> Result<Vec<u8>, Refusal> {
    let mut d = AutoCommit::load(doc).map_err(|e| Refusal::Malformed(e.to_string()))?;
    Ok(changes_after(doc, &mut d, known))
}

/// As [`changes_since`], for a document already loaded from `stored` (its full save): the whole
/// document is `stored` itself, not saved again.
pub fn changes_after(stored: &[u8], doc: &mut AutoCommit, known: &[ChangeHash]) -> Vec<u8> {
    if known.is_empty() || known.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
        return stored.to_vec();
    }
    doc.save_after(known)
}
