//! Identifiers: UUIDv7 newtypes, so a case id can never be passed where a visit id is meant.
//!
//! UUIDv7 ids sort by creation time, which keeps SQLite's indexes append-mostly. In an automerge
//! document they are stored as their canonical hyphenated text, which is also how they appear as
//! map keys.

use std::fmt;
use std::str::FromStr;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = crate::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| crate::DomainError::InvalidId { value: s.chars().take(64).collect() })
            }
        }

        impl Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
                self.to_string().reconcile(reconciler)
            }
        }

        impl Hydrate for $name {
            fn hydrate_string(s: &'_ str) -> Result<Self, HydrateError> {
                s.parse().map_err(|_| HydrateError::unexpected("a UUID", s.to_string()))
            }
        }

    };
}

id_type!(
    /// A case: one automerge document, the unit of collaboration and of access control.
    CaseId
);
id_type!(
    /// A visit recorded against a case.
    VisitId
);
id_type!(
    /// A person: a field officer, team leader or admin.
    PersonId
);
id_type!(
    /// A device (a laptop or tablet running Fieldbook, or a headless `fieldbook` CLI data directory).
    DeviceId
);
id_type!(
    /// A note on a case.
    NoteId
);
