//! The one place business and system failures become wire answers: infcode -2 (business error:
//! the cashier reads err_msg and fixes the input) or -1 (system error: the HIS should reverse
//! with 2601 if unsure what happened).

use yibao_store::DbError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    Business(String),
    #[error("system error: {0}")]
    System(String),
    /// The request was refused before any business logic: authentication (HTTP 401), not
    /// permitted (403) or too many requests (429). `code` is stable (`AUTH_BAD_SIGNATURE`, …);
    /// the answer is still an envelope with infcode -2, its err_msg `<code>: <message>`.
    #[error("{code}: {msg}")]
    Refused { status: u16, code: &'static str, msg: String },
}

pub type Result<T> = std::result::Result<T, GatewayError>;

impl GatewayError {
    pub fn infcode(&self) -> i32 {
        match self {
            GatewayError::Business(_) | GatewayError::Refused { .. } => -2,
            GatewayError::System(_) => -1,
        }
    }

    /// The HTTP status of the answer: 200 for every envelope answer except refusals.
    pub fn http_status(&self) -> u16 {
        match self {
            GatewayError::Refused { status, .. } => *status,
            _ => 200,
        }
    }
}

/// A refusal with its HTTP status and stable code.
pub fn refused(status: u16, code: &'static str, msg: impl Into<String>) -> GatewayError {
    GatewayError::Refused { status, code, msg: msg.into() }
}

/// Shorthand for a business error.
pub fn biz(msg: impl Into<String>) -> GatewayError {
    GatewayError::Business(msg.into())
}

impl From<DbError> for GatewayError {
    fn from(e: DbError) -> Self {
        GatewayError::System(e.to_string())
    }
}

impl From<yibao_store::registry::RegistryError> for GatewayError {
    fn from(e: yibao_store::registry::RegistryError) -> Self {
        use yibao_store::registry::RegistryError as R;
        match e {
            R::Db(d) => d.into(),
            other => biz(other.to_string()),
        }
    }
}

impl From<yibao_store::catalog::CatalogError> for GatewayError {
    fn from(e: yibao_store::catalog::CatalogError) -> Self {
        use yibao_store::catalog::CatalogError as C;
        match e {
            C::Db(d) => d.into(),
            other => biz(other.to_string()),
        }
    }
}

impl From<yibao_store::policy::PolicyStoreError> for GatewayError {
    fn from(e: yibao_store::policy::PolicyStoreError) -> Self {
        use yibao_store::policy::PolicyStoreError as P;
        match e {
            P::Db(d) => d.into(),
            // A stored policy that no longer parses is the platform's fault, not the cashier's.
            P::Policy(p) => GatewayError::System(p.to_string()),
            nf @ P::NotInForce { .. } => biz(nf.to_string()),
        }
    }
}

/// A fee line beyond the bounds of a line, named by its row path: `input.feedetail[3].pric: …`.
pub fn out_of_bounds(row: &str, e: yibao_domain::bounds::BoundError) -> GatewayError {
    biz(format!("{row}.{}: {e}", e.field()))
}

impl From<yibao_domain::settle::SettleError> for GatewayError {
    fn from(e: yibao_domain::settle::SettleError) -> Self {
        biz(e.to_string())
    }
}
