//! The person and visit most engine tests start from, so each test states only what differs.

use super::{PersonFacts, RemoteType, VisitFacts};
use crate::dict::{PsnCategory, VisitClass};
use crate::money::Fen;

/// An in-service employee (1101) holding `insutypes`, no identities, not a civil servant.
pub fn employee(insutypes: &[&str]) -> PersonFacts {
    PersonFacts {
        psn_type: "1101".into(),
        category: PsnCategory::InService,
        cvlserv: false,
        idet_types: vec![],
        insutypes: insutypes.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// The year's first visit of `class` at a local grade-3 hospital, one segment.
pub fn first_visit(class: VisitClass) -> VisitFacts {
    VisitFacts {
        visit_class: class,
        grade: 3,
        adm_seq: 1,
        remote: RemoteType::Local,
        prior_dedc: Fen::ZERO,
        prior_inscp: Fen::ZERO,
        first_segment: true,
    }
}
