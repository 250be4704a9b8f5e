use fieldbook_core::DomainError;
use thiserror::Error;

/// What can go wrong with the device's database. Each has a stable code (see [`StoreError::code`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("there is no Fieldbook device in {dir}: set one up with `fieldbook --data {dir} init`")]
    NotInitialised { dir: String },
    #[error("a Fieldbook device already exists in {dir}")]
    AlreadyInitialised { dir: String },
    #[error("the device number must be a whole number from 1 to {max}, unique to this device")]
    InvalidDeviceNumber { max: u32 },
    #[error("the passphrase is wrong")]
    WrongPassphrase,
    #[error("the passphrase must be at least {min} characters")]
    WeakPassphrase { min: usize },
    #[error(
        "this device's database was written by a newer version of Fieldbook (schema {found}; this version knows up to {supported}): update Fieldbook"
    )]
    DatabaseNewer { found: u32, supported: u32 },
    #[error("the device's data is damaged and cannot be opened: {detail}")]
    Corrupt { detail: String },
    #[error("cannot use the data directory {dir}: {detail}")]
    DataDir { dir: String, detail: String },
    #[error("another Fieldbook program is using this device's database; try again in a moment")]
    Busy,
    #[error("the disk is full: nothing was saved; free some space and try again")]
    DiskFull,
    #[error("there is no case {reference} on this device")]
    CaseNotFound { reference: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("the case document could not be read: {0}")]
    Document(String),
    #[error("that value is no longer in conflict (a sync settled it): look at the case again")]
    ConflictGone,
    #[error("that file is not a basemap pack Fieldbook can show: {0}")]
    InvalidBasemap(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotInitialised { .. } => "not_initialised",
            Self::AlreadyInitialised { .. } => "already_initialised",
            Self::WrongPassphrase => "wrong_passphrase",
            Self::InvalidDeviceNumber { .. } => "invalid_device_number",
            Self::WeakPassphrase { .. } => "weak_passphrase",
            Self::DatabaseNewer { .. } => "database_newer",
            Self::Corrupt { .. } => "corrupt_database",
            Self::DataDir { .. } => "data_dir",
            Self::Busy => "busy",
            Self::DiskFull => "disk_full",
            Self::CaseNotFound { .. } => "case_not_found",
            Self::Domain(e) => e.code(),
            Self::Sqlite(_) => "database_error",
            Self::Document(_) => "document_error",
            Self::ConflictGone => "conflict_gone",
            Self::InvalidBasemap(_) => "invalid_basemap",
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => Self::Busy,
            Some(C::DiskFull) => Self::DiskFull,
            Some(C::NotADatabase | C::DatabaseCorrupt) => Self::Corrupt {
                detail: e.to_string(),
            },
            _ => Self::Sqlite(e),
        }
    }
}

impl From<automerge::AutomergeError> for StoreError {
    fn from(e: automerge::AutomergeError) -> Self {
        Self::Document(e.to_string())
    }
}

impl From<autosurgeon::HydrateError> for StoreError {
    fn from(e: autosurgeon::HydrateError) -> Self {
        Self::Document(e.to_string())
    }
}

impl From<autosurgeon::ReconcileError> for StoreError {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        Self::Document(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
