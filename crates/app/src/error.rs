use fieldbook_core::DomainError;
use fieldbook_store::StoreError;
use serde::Serialize;

/// Every error a front end can see: a stable machine-readable `code` to choose what to show,
/// and a human `message`. Serialised as `{ "code": ..., "message": ... }`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the device is locked: unlock it with your passphrase")]
    Locked,
    #[error("{message}")]
    InvalidInput { field: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::InvalidInput { .. } => "invalid_input",
            Self::Store(e) => e.code(),
        }
    }

    pub(crate) fn input(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        Self::Store(StoreError::Domain(e))
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ErrorDto {
            code: self.code(),
            message: self.to_string(),
            field: match self {
                Self::InvalidInput { field, .. } => Some(field.clone()),
                _ => None,
            },
        }
        .serialize(s)
    }
}

/// The wire form of [`AppError`].
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ErrorDto {
    pub code: &'static str,
    pub message: String,
    /// The input field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
}

pub type AppResult<T> = Result<T, AppError>;
