//! The older per-service paths (interface-spec.md §1.1), each bound to one transaction.

const PATHS: &[(&str, &str)] = &[
    ("signInSignOutService/signIn", "9001"),
    ("signInSignOutService/signOut", "9002"),
    ("fileupload/upload", "9101"),
    ("fileupload/download", "9102"),
    ("fsiPsnInfoService/queryPsnInfo", "1101"),
    ("fsiFixMedInsService/queryFixMedIns", "1201"),
    ("fsiPsnPriorityInfoService/queryPsnPriorityInfo", "2001"),
    ("catalogqueryservice/queryHilist", "1312"),
    ("catalogqueryservice/queryMedListMapByPage", "1316"),
    ("catalogqueryservice/queryMedinsHilistMapByPage", "1317"),
    ("catalogqueryservice/queryLmtprcByPage", "1318"),
    ("catalogqueryservice/querySelfpayByPage", "1319"),
    ("outpatientDocInfoService/outpatientRregistration", "2201"),
    ("outpatientDocInfoService/outpatientRegistrationCancel", "2202"),
    ("outpatientDocInfoService/outpatientMdtrtinfoUp", "2203"),
    ("outpatientDocInfoService/outpatientMdtrtinfoUpA", "2203A"),
    ("outpatientDocInfoService/outpatientFeeListUp", "2204"),
    ("outpatientDocInfoService/outpatientFeeListUpCancel", "2205"),
    ("outpatientSettleService/preSettletment", "2206"),
    ("outpatientSettleService/saveSettletmentV2", "2207"),
    ("outpatientSettleService/saveSettletment", "2207A"),
    ("outpatientSettleService/cancleSettletment", "2208"),
    ("hospFeeDtlService/feeDtlUp", "2301"),
    ("hospFeeDtlService/feeDtlCl", "2302"),
    ("hospSettService/preSett", "2303"),
    ("hospSettService/settV2", "2304"),
    ("hospSettService/settCl", "2305"),
    ("hospitalRegisterService/hospitalRegisterSave", "2401"),
    ("dscgService/dischargeProcess", "2402"),
    ("hospitalRegisterService/hospitalRegisterEdit", "2403"),
    ("hospitalRegisterService/hospitalRegisterCancel", "2404"),
    ("dscgService/dischargeUndo", "2405"),
    ("reverseService/revsMethod", "2601"),
    ("ybSettlementStmtService/stmtTotal", "3201"),
    ("ybSettlementStmtService/stmtDetail", "3202"),
    ("fsiIntegratedQueryService/queryMdtrtInfo", "5201"),
    ("fsiIntegratedQueryService/querySetlInfo", "5203"),
    ("fsiIntegratedQueryService/queryFixmedinsPracPsnSum", "5206"),
];

/// The infno bound to a path under `/fsi/api/`, if any.
pub fn infno_of(rest: &str) -> Option<&'static str> {
    let rest = rest.trim_matches('/');
    PATHS.iter().find(|(p, _)| p.eq_ignore_ascii_case(rest)).map(|(_, i)| *i)
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_paths_map_to_their_infno() {
        assert_eq!(super::infno_of("hospSettService/settV2"), Some("2304"));
        assert_eq!(super::infno_of("/reverseService/revsMethod/"), Some("2601"));
        assert_eq!(super::infno_of("nope"), None);
    }
}
