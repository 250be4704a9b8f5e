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
    /// Talking to the server failed (or it refused).
    #[error(transparent)]
    Server(#[from] fieldbook_client::ClientError),
    /// A photo file was refused (empty, too large, damaged, not a JPEG or PNG...).
    #[error(transparent)]
    Photo(#[from] fieldbook_media::MediaError),
    #[error(
        "no address list (gazetteer) is loaded on this device: ask an administrator to load one"
    )]
    NoGazetteer,
}

impl AppError {
    pub fn code(&self) -> &str {
        match self {
            Self::Locked => "locked",
            Self::InvalidInput { .. } => "invalid_input",
            Self::Store(e) => e.code(),
            // Codes the server or the client name pass through as they are.
            Self::Server(e) => e.code(),
            Self::Photo(e) => e.code(),
            Self::NoGazetteer => "no_gazetteer",
        }
    }

    /// The input field at fault, where the error names one: the field of an `invalid_input`,
    /// the question id of an `invalid_answer`, or the case field a domain rule refused.
    pub fn field(&self) -> Option<String> {
        use fieldbook_core::DomainError as D;
        match self {
            Self::InvalidInput { field, .. } => Some(field.clone()),
            Self::Photo(_) => Some("photo".into()),
            Self::Store(StoreError::Domain(d)) => match d {
                D::EmptyTitle => Some("title".into()),
                D::EmptyNote => Some("note".into()),
                D::TooLong { field, .. } | D::ControlCharacters { field } => Some((*field).into()),
                D::InvalidPostcode { .. } => Some("postcode".into()),
                D::InvalidUprn { .. } => Some("uprn".into()),
                D::InvalidLocation { .. } => Some("location".into()),
                D::InvalidAnswer { item, .. } => Some(item.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn input(field: &str, message: impl Into<String>) -> Self {
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
            code: self.code().to_string(),
            message: self.to_string(),
            field: self.field(),
        }
        .serialize(s)
    }
}

/// The wire form of [`AppError`].
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ErrorDto {
    pub code: String,
    pub message: String,
    /// The input field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
}

pub type AppResult<T> = Result<T, AppError>;
