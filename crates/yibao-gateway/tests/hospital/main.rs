//! End-to-end suite: drives the national interface as a hospital or pharmacy system would, on
//! SQLite and PostgreSQL alike, and checks the money afterwards in the store.

mod client;
mod errors;
mod fuzz_corpus;
mod holders;
mod http;
mod identity;
mod inpatient;
mod msgids;
mod outpatient;
mod person_reads;
mod pharmacy;
mod property;
mod reconcile;
mod reversal;
mod statements;
mod trust;
mod wire;
