-- The outbox is read by due time only; an index by recipient (a random key) cost every
-- booking a page write at the release minute.
DROP INDEX outbox_by_recipient;
