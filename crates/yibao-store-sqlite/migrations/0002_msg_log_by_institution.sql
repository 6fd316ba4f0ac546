-- Msgids are scoped by their sender: the key of msg_log becomes (fixmedins_code, msgid), so one
-- institution's msgid can neither be voided (2601) nor taken by another. SQLite cannot change a
-- primary key in place: the table is rebuilt with the same columns in the same order, its rows
-- copied (a msgid was unique, so it still is within its institution).
CREATE TABLE msg_log_0002 (
    msgid           TEXT NOT NULL,
    fixmedins_code  TEXT NOT NULL,
    infno           TEXT NOT NULL,
    req_digest      TEXT NOT NULL,
    psn_no          TEXT,
    ref_id          TEXT,                   -- setl_id / mdtrt_id the request produced
    response        TEXT NOT NULL,
    created         BIGINT NOT NULL,
    reversed        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (fixmedins_code, msgid)
);
INSERT INTO msg_log_0002 (msgid, fixmedins_code, infno, req_digest, psn_no, ref_id, response, created, reversed)
    SELECT msgid, fixmedins_code, infno, req_digest, psn_no, ref_id, response, created, reversed FROM msg_log;
DROP TABLE msg_log;
ALTER TABLE msg_log_0002 RENAME TO msg_log;
