-- Confirming a booking looks for seats that came back to the same slot just before (seat
-- hand-off signal); without this index that is a scan of every return.
CREATE INDEX seat_returns_by_slot ON seat_returns (slot_id, returned_at);
