//! Fieldbook's domain: cases, visits, inspection templates and their scoring, the review state
//! machine, case references, locations, and the automerge schema of a case (mapped with
//! autosurgeon). Everything here is pure: no files, no clock, no SQL, no HTTP, no Tauri. Callers
//! pass the current time and the acting person in; the store and the server persist the results.

pub mod error;
pub mod ids;
pub mod template;
pub mod time;

pub use error::DomainError;
pub use ids::{CaseId, DeviceId, NoteId, PersonId, VisitId};
pub use time::{Date, Timestamp};

pub mod case;
pub mod geo;
pub mod kind;
pub mod location;
pub mod read;
pub mod reference;
pub mod status;

pub use case::{Actor, Answer, Case, CaseEdit, NewCase, Note, PhotoEdit, PhotoRef, Visit};
pub use kind::CaseKind;
pub use location::{Location, LocationSource};
pub use reference::CaseReference;
pub use status::{CaseStatus, Role, TRANSITIONS, Transition, check_transition};

/// Store an enum in automerge as its stable `code()` string rather than its Rust name, so
/// renaming a variant never changes the documents.
#[macro_export]
#[doc(hidden)]
macro_rules! code_enum_in_automerge {
    ($ty:ty, $what:literal) => {
        impl autosurgeon::Reconcile for $ty {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
                self.code().reconcile(reconciler)
            }
        }
        impl autosurgeon::Hydrate for $ty {
            fn hydrate_string(s: &'_ str) -> Result<Self, autosurgeon::HydrateError> {
                s.parse()
                    .map_err(|_| autosurgeon::HydrateError::unexpected($what, s.to_string()))
            }
        }
    };
}
