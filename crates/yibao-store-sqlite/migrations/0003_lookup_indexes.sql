-- A person read (1101) by an institution is a relation to the person for a day: 2001 and 5206
-- find it by (institution, psn_no, time) among the 1101 records of the audit chain alone.
CREATE INDEX IF NOT EXISTS audit_log_person_reads ON audit_log (stream, target, at_time) WHERE action = '1101';
-- The startup key check walks the distinct key ids of persons' sealed names through this
-- index (one probe per key id), instead of reading the whole person table.
CREATE INDEX IF NOT EXISTS person_key_id ON person (substr(psn_name, 1, 8));
