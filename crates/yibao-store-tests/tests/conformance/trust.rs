//! Trust at the store: personal data sealed at rest and found through the blind index, key
//! rotation and re-keying, sealed credential secrets, e-credential uses, and the audit chain
//! that names the first changed, removed or reordered record.

use std::sync::Arc;
use yibao_domain::registry::Person;
use yibao_domain::DateTime;
use yibao_store::audit::{self, Entry};
use yibao_store::registry as reg;
use yibao_store::{credential, ecred, params, DbError, Store, Vault};
use yibao_store_tests::conformance;

const K1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const K2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const CERT: &str = "11010519491231002X";

fn person(psn_no: &str, certno: &str) -> Person {
    yibao_store_tests::sample_person(psn_no, certno)
}

fn keyed(store: &Store, spec: &str) -> Store {
    store.with_other_vault(Arc::new(Vault::from_hex_list(spec).unwrap()))
}

fn raw_person(store: &Store, psn_no: &str) -> Vec<Option<String>> {
    store
        .read(|tx| {
            let r = tx
                .query_opt(
                    "SELECT certno, cert_bidx, psn_name, tel, addr FROM person WHERE psn_no = $1",
                    params![psn_no],
                )?
                .ok_or_else(|| DbError::Other("no row".into()))?;
            (0..5).map(|i| r.opt_str(i)).collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
}

fn append(store: &Store, stream: &str, n: usize) {
    for i in 0..n {
        store
            .write(|tx| {
                audit::append(
                    tx,
                    &Entry {
                        stream,
                        at_time: 1000 + i as i64,
                        actor: "H1/op",
                        action: "2207",
                        target: &format!("S{i}"),
                        detail: "msgid=M",
                    },
                )
            })
            .unwrap();
    }
}

fn verify(store: &Store) -> audit::Report {
    store.read(audit::verify).unwrap()
}

conformance! {
    /// No personal field is stored in clear; the certificate is found through its blind index.
    fn personal_data_is_sealed_and_found_by_blind_index(store: &Store) {
        let s = keyed(store, K1);
        s.write(|tx| reg::insert_person(tx, &person("P1", CERT), DateTime(0))).unwrap();
        let raw = raw_person(&s, "P1");
        for (v, clear) in raw.iter().zip([CERT, "", "张伟", "13912345678", "北京市东城区某街1号"]) {
            let v = v.as_deref().unwrap();
            if !clear.is_empty() {
                assert!(!v.contains(clear), "stored in clear: {v}");
            }
        }
        assert!(raw[0].as_deref().unwrap().starts_with(s.vault().key_id()));
        // Found by the number, in either case of the check letter.
        let p = s.read(|tx| reg::person_by_cert(tx, "01", &CERT.to_lowercase())).unwrap().unwrap();
        assert_eq!((p.psn_no.as_str(), p.certno.as_str(), p.psn_name.as_str()), ("P1", CERT, "张伟"));
        assert_eq!(p.tel.as_deref(), Some("13912345678"));
        // One certificate, one person, still enforced through the index.
        let dup = s.write(|tx| reg::insert_person(tx, &person("P2", CERT), DateTime(0))).unwrap_err();
        assert!(dup.to_string().contains("110105********002X") && !dup.to_string().contains(CERT), "{dup}");
        // Another key cannot read it, and says so without showing anything.
        let other = keyed(store, K2);
        let e = other.read(|tx| reg::person_by_psn_no(tx, "P1")).unwrap_err().to_string();
        assert!(e.contains("not configured") && !e.contains(CERT), "{e}");
        assert!(other.read(|tx| reg::person_by_cert(tx, "01", CERT)).unwrap().is_none());
    }

    /// A sealed value moved to another row or column no longer opens.
    fn sealed_values_are_bound_to_their_row(store: &Store) {
        let s = keyed(store, K1);
        s.write(|tx| reg::insert_person(tx, &person("P1", CERT), DateTime(0))).unwrap();
        s.write(|tx| reg::insert_person(tx, &person("P2", "110105194912310038"), DateTime(0))).unwrap();
        s.write(|tx| tx.execute("UPDATE person SET certno = (SELECT certno FROM person WHERE psn_no = 'P1') WHERE psn_no = 'P2'", params![])).unwrap();
        let e = s.read(|tx| reg::person_by_psn_no(tx, "P2")).unwrap_err().to_string();
        assert!(e.contains("does not authenticate"), "{e}");
    }

    /// Rotation: a ring with the new key first still reads and finds everything; `rekey`
    /// re-seals it, after which the old key can go.
    fn rotation_and_rekey(store: &Store) {
        let old = keyed(store, K1);
        for i in 0..3 {
            let certs = ["11010519491231002X", "110105194912310038", "110105194912310054"];
            old.write(|tx| reg::insert_person(tx, &person(&format!("P{i}"), certs[i]), DateTime(0))).unwrap();
        }
        let c = old.write(|tx| credential::issue(tx, "H11010000001", None, 10)).unwrap();
        let rotated = keyed(store, &format!("{K2},{K1}"));
        assert_eq!(rotated.read(|tx| reg::person_by_cert(tx, "01", CERT)).unwrap().unwrap().psn_no, "P0");
        // A presented number is checked against the old key's index too, without opening it.
        let p0 = rotated.read(|tx| reg::person_core(tx, "P0")).unwrap().unwrap();
        assert!(rotated.read(|tx| reg::holds_cert(tx, &p0, "01", &CERT.to_lowercase())).unwrap(), "x is X");
        assert!(!rotated.read(|tx| reg::holds_cert(tx, &p0, "01", "110105194912310038")).unwrap(), "P1's number");
        assert!(!rotated.read(|tx| reg::holds_cert(tx, &p0, "08", CERT)).unwrap(), "another certificate type");
        assert_eq!(rotated.read(|tx| reg::person_certno(tx, "P0")).unwrap().as_deref(), Some(CERT));
        assert_eq!(rotated.read(|tx| reg::person_certno(tx, "P7")).unwrap(), None);
        let dup = rotated.write(|tx| reg::insert_person(tx, &person("P9", CERT), DateTime(0))).unwrap_err();
        assert!(dup.to_string().contains("already registered"), "a duplicate under the old key's index is caught: {dup}");
        let mut after = String::new();
        let mut n = 0;
        loop {
            let (next, k) = rotated.write(|tx| reg::rekey_persons(tx, &after, 2)).unwrap();
            n += k;
            match next {
                Some(p) => after = p,
                None => break,
            }
        }
        assert_eq!(n, 3);
        assert_eq!(rotated.write(credential::rekey).unwrap(), 1);
        let new_only = keyed(store, K2);
        assert_eq!(new_only.read(|tx| reg::person_by_cert(tx, "01", CERT)).unwrap().unwrap().psn_no, "P0");
        assert_eq!(new_only.read(|tx| credential::get(tx, &c.paasid)).unwrap().unwrap().secret, c.secret);
        assert!(raw_person(&new_only, "P2")[0].as_deref().unwrap().starts_with(new_only.vault().key_id()));
    }

    /// The key ids in use are what a startup checks its key ring against: the old key's before a
    /// rekey, the new key's after.
    fn sealed_key_ids_name_the_keys_in_use(store: &Store) {
        let ids = |s: &Store| {
            let mut v = s.read(reg::sealed_key_ids).unwrap();
            v.extend(s.read(credential::sealed_key_ids).unwrap());
            v.sort();
            v.dedup();
            v
        };
        assert_eq!(ids(store), Vec::<String>::new(), "an empty store holds nothing sealed");
        let old = keyed(store, K1);
        old.write(|tx| reg::insert_person(tx, &person("P1", CERT), DateTime(0))).unwrap();
        old.write(|tx| credential::issue(tx, "H11010000001", None, 10)).unwrap();
        assert_eq!(ids(store), vec![old.vault().key_id().to_owned()]);
        let rotated = keyed(store, &format!("{K2},{K1}"));
        rotated.write(|tx| reg::rekey_persons(tx, "", 10)).unwrap();
        assert_eq!(ids(store).len(), 2, "persons re-sealed, the credential not yet");
        rotated.write(credential::rekey).unwrap();
        assert_eq!(ids(store), vec![keyed(store, K2).vault().key_id().to_owned()]);
    }

    /// The startup check finds the key ids through the index `person_key_id`, a probe per key
    /// id, instead of reading every person (it runs at every command).
    fn sealed_key_ids_probe_an_index(store: &Store) {
        let sql = reg::KEY_ID_PROBE.replace("$1", "''");
        let plan: Vec<String> = store
            .write(|tx| {
                let rows = match tx.dialect() {
                    yibao_store::Dialect::Sqlite => tx.query(&format!("EXPLAIN QUERY PLAN {sql}"), params![])?,
                    yibao_store::Dialect::Postgres => {
                        // An empty table: tell the planner a scan is not wanted, to see whether
                        // the index can serve the query at all.
                        tx.execute("SET LOCAL enable_seqscan = off", params![])?;
                        tx.query(&format!("EXPLAIN {sql}"), params![])?
                    }
                };
                let last = |r: &yibao_store::Row| r.str(r.0.len() - 1);
                rows.iter().map(last).collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("person_key_id"), "{plan}");
    }

    /// Rotations of one credential at once, on real concurrent threads: each takes the secret the
    /// one before it made as its previous one, so the last new secret is the credential's and
    /// the one before it stays valid for the overlap; no new secret is lost.
    fn concurrent_rotations_lose_no_secret(store: &Store) {
        const THREADS: usize = 4;
        let c = store.write(|tx| credential::issue(tx, "H11010000001", None, 10)).unwrap();
        let barrier = std::sync::Barrier::new(THREADS);
        let mut lost = 0;
        for round in 0..15 {
            let before = store.read(|tx| credential::get(tx, &c.paasid)).unwrap().unwrap().secret;
            let pairs: Vec<(String, String)> = std::thread::scope(|s| {
                let t: Vec<_> = (0..THREADS)
                    .map(|_| {
                        let (barrier, paasid) = (&barrier, &c.paasid);
                        s.spawn(move || {
                            barrier.wait();
                            let r = store.write(|tx| credential::rotate(tx, paasid, 1_000 + round, 20)).unwrap().unwrap();
                            (r.prev_secret.unwrap(), r.secret)
                        })
                    })
                    .collect();
                t.into_iter().map(|h| h.join().unwrap()).collect()
            });
            // The rotations form one chain from `before`: every previous secret is distinct and
            // is `before` or a new secret of another rotation.
            let news: Vec<&String> = pairs.iter().map(|p| &p.1).collect();
            let mut prevs: Vec<&String> = pairs.iter().map(|p| &p.0).collect();
            prevs.sort();
            prevs.dedup();
            let chained = prevs.len() == THREADS && prevs.iter().all(|p| **p == before || news.contains(p));
            let now = store.read(|tx| credential::get(tx, &c.paasid)).unwrap().unwrap();
            let last = pairs.iter().find(|p| !prevs.contains(&&p.1)).expect("a last rotation");
            if !chained || now.secret != last.1 || now.prev_secret.as_ref() != Some(&last.0) {
                lost += 1;
            }
        }
        assert_eq!(lost, 0, "{lost} of 15 rounds lost a rotation");
    }

    /// Credential secrets are sealed; rotation keeps the old secret for the overlap; revocation.
    fn credentials_are_sealed_rotated_and_revoked(store: &Store) {
        let c = store.write(|tx| credential::issue(tx, "H11010000001", None, 100)).unwrap();
        assert!(c.paasid.starts_with("H11010000001-"));
        let stored = store
            .read(|tx| tx.query_opt("SELECT secret FROM inst_credential WHERE paasid = $1", params![c.paasid.as_str()])?.unwrap().str(0))
            .unwrap();
        assert!(!stored.contains(&c.secret));
        let r = store.write(|tx| credential::rotate(tx, &c.paasid, 700, 100)).unwrap().unwrap();
        assert_ne!(r.secret, c.secret);
        let got = store.read(|tx| credential::get(tx, &c.paasid)).unwrap().unwrap();
        assert_eq!(got.secrets_at(700), vec![r.secret.as_str(), c.secret.as_str()]);
        assert_eq!(got.secrets_at(701), vec![r.secret.as_str()], "the old secret ends with the overlap");
        assert!(store.write(|tx| credential::revoke(tx, &c.paasid, 200)).unwrap());
        let got = store.read(|tx| credential::get(tx, &c.paasid)).unwrap().unwrap();
        assert!(!got.active());
        assert!(store.write(|tx| credential::rotate(tx, &c.paasid, 900, 300)).unwrap().is_none(), "a revoked credential is not rotated");
    }

    /// One e-credential token, one visit.
    fn an_e_credential_serves_one_visit(store: &Store) {
        let u = |mdtrt_id: &str| ecred::EcUse { serial: "00ff".into(), psn_no: "P1".into(), mdtrt_id: mdtrt_id.into(), fixmedins_code: "H1".into(), infno: "2201".into(), expires: 500, used_time: 100 };
        assert_eq!(store.write(|tx| ecred::record(tx, &u("V1"))).unwrap(), None);
        assert_eq!(store.write(|tx| ecred::record(tx, &u("V2"))).unwrap().unwrap().mdtrt_id, "V1");
        assert_eq!(store.write(|tx| ecred::prune(tx, 501)).unwrap(), 1);
    }

    /// The chain verifies; a one-byte change in any field of a stored record is named.
    fn audit_catches_a_one_byte_change(store: &Store) {
        append(store, "H1", 5);
        append(store, "admin", 2);
        let r = verify(store);
        assert_eq!((r.streams, r.records, r.problems.len()), (2, 7, 0), "{r:?}");
        store.write(|tx| tx.execute("UPDATE audit_log SET target = 'S9' WHERE stream = 'H1' AND seq = 3", params![])).unwrap();
        let r = verify(store);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        let p = &r.problems[0];
        assert_eq!((p.stream.as_str(), p.seq), ("H1", 3));
        assert!(p.what.starts_with("changed"), "{p}");
        assert_eq!(r.heads, vec![("admin".to_owned(), 2, r.heads[0].2.clone())], "the other stream is intact");
    }

    /// A changed time, a changed hash, a removed record, a removed tail and two swapped
    /// records are each caught and named.
    fn audit_catches_removal_and_reordering(store: &Store) {
        let broken = |sql: &str| {
            store.write(|tx| tx.execute(sql, params![])).unwrap();
            let r = verify(store);
            assert_eq!(r.problems.len(), 1, "{sql}: {r:?}");
            r.problems[0].clone()
        };
        append(store, "A", 4);
        let p = broken("UPDATE audit_log SET at_time = at_time + 1 WHERE stream = 'A' AND seq = 2");
        assert_eq!((p.seq, p.what.starts_with("changed")), (2, true), "{p}");

        append(store, "B", 4);
        store.write(|tx| tx.execute("DELETE FROM audit_log WHERE stream = 'A'", params![])).unwrap();
        store.write(|tx| tx.execute("DELETE FROM audit_head WHERE stream = 'A'", params![])).unwrap();
        let p = broken("DELETE FROM audit_log WHERE stream = 'B' AND seq = 2");
        assert_eq!((p.stream.as_str(), p.seq), ("B", 2));
        assert!(p.what.starts_with("missing"), "{p}");

        append(store, "C", 4);
        store.write(|tx| tx.execute("DELETE FROM audit_log WHERE stream = 'B'", params![])).unwrap();
        store.write(|tx| tx.execute("DELETE FROM audit_head WHERE stream = 'B'", params![])).unwrap();
        let p = broken("DELETE FROM audit_log WHERE stream = 'C' AND seq = 4");
        assert_eq!((p.seq, p.what.contains("the head says the chain ends at record 4")), (4, true), "{p}");

        append(store, "D", 4);
        store.write(|tx| tx.execute("DELETE FROM audit_log WHERE stream = 'C'", params![])).unwrap();
        store.write(|tx| tx.execute("DELETE FROM audit_head WHERE stream = 'C'", params![])).unwrap();
        // Swap records 2 and 3 wholesale (their own hashes stay consistent with their content,
        // renumbered): the chain is broken at 2.
        store.write(|tx| {
            tx.execute("UPDATE audit_log SET seq = 99 WHERE stream = 'D' AND seq = 2", params![])?;
            tx.execute("UPDATE audit_log SET seq = 2 WHERE stream = 'D' AND seq = 3", params![])?;
            tx.execute("UPDATE audit_log SET seq = 3 WHERE stream = 'D' AND seq = 99", params![])
        }).unwrap();
        let r = verify(store);
        assert_eq!((r.problems.len(), r.problems[0].seq), (1, 2), "{r:?}");

        // Recomputing a changed record's own hash does not help: the next record names it.
        store.write(|tx| tx.execute("DELETE FROM audit_log WHERE stream = 'D'", params![])).unwrap();
        store.write(|tx| tx.execute("DELETE FROM audit_head WHERE stream = 'D'", params![])).unwrap();
        append(store, "E", 3);
        let mut rec = store.read(|tx| audit::records(tx, "E", 1, 1)).unwrap().remove(0);
        rec.target = "forged".into();
        rec.hash = rec.compute_hash();
        store.write(|tx| tx.execute("UPDATE audit_log SET target = $1, hash = $2 WHERE stream = 'E' AND seq = 2", params![rec.target.as_str(), rec.hash.as_str()])).unwrap();
        let r = verify(store);
        assert_eq!((r.problems[0].seq, r.problems[0].what.starts_with("out of chain")), (3, true), "{r:?}");
    }
}
