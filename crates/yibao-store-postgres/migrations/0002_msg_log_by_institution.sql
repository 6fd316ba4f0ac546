-- Msgids are scoped by their sender: the key of msg_log becomes (fixmedins_code, msgid), so one
-- institution's msgid can neither be voided (2601) nor taken by another. Existing rows keep
-- their institution (a msgid was unique, so it still is within its institution).
ALTER TABLE msg_log DROP CONSTRAINT msg_log_pkey;
ALTER TABLE msg_log ADD CONSTRAINT msg_log_pkey PRIMARY KEY (fixmedins_code, msgid);
