-- An entry made offline inside its window may reach the server after the window
-- closed (SPEC §4): it is kept, and marked so that staff and exports can tell
-- it from one received in time. `late` stays about when the entry was made
-- (after its local day ended); `synced_late` is about when the server received
-- the participant's latest write of it (after the window closed). A staff
-- clarification is not a participant sync and leaves it as it was.
--
-- Rows written before this migration keep 0: the window close depends on the
-- participant's zone and the study file, which SQL cannot evaluate here.
ALTER TABLE entries ADD COLUMN synced_late INTEGER NOT NULL DEFAULT 0
    CHECK (synced_late IN (0, 1));
