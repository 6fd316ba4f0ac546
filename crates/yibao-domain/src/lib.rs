//! The pure domain of yibao: national codes, money, catalogs, policy parameters and the
//! settlement engine. No I/O and no async, so every rule can be tested and benchmarked alone.

pub mod bounds;
pub mod case;
pub mod case_text;
pub mod catalog;
pub mod codes;
pub mod date;
pub mod dict;
pub mod money;
pub mod policy;
pub mod registry;
pub mod reversal;
pub mod settle;
pub mod visit_rules;

pub use date::{Date, DateTime};
pub use money::{Fen, Qty, Ratio, UnitPrice};
