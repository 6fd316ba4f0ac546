//! The conformance suite: one binary, one module per area. Each module's tests run against
//! SQLite and PostgreSQL through `yibao_store_tests::conformance!`.

mod backend;
mod catalog;
mod group_commit;
mod harness;
mod policy;
mod registry;
mod settlement;
mod trust;
