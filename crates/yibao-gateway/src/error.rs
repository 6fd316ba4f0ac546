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
}

pub type Result<T> = std::result::Result<T, GatewayError>;

impl GatewayError {
    pub fn infcode(&self) -> i32 {
        match self {
            GatewayError::Business(_) => -2,
            GatewayError::System(_) => -1,
        }
    }
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

impl From<yibao_domain::settle::SettleError> for GatewayError {
    fn from(e: yibao_domain::settle::SettleError) -> Self {
        biz(e.to_string())
    }
}
