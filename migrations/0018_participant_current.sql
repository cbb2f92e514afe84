-- Each participant's current time zone and first injection date, kept on their row:
-- the closing job reads them for every participant on every run, and each was an index
-- look-up into its history (about a tenth of a daily run). The histories stay the
-- record (participant_timezones, injections); these columns are derived from them by
-- the triggers below, whatever writes the history, and `flask diary integrity` checks
-- that they agree.
ALTER TABLE participants ADD COLUMN current_timezone TEXT;
ALTER TABLE participants ADD COLUMN first_injection_date TEXT;

UPDATE participants SET
    current_timezone = (SELECT t.timezone FROM participant_timezones t
                        WHERE t.participant_id = participants.id
                        ORDER BY t.effective_from DESC, t.id DESC LIMIT 1),
    first_injection_date = (SELECT min(i.date) FROM injections i
                            WHERE i.participant_id = participants.id);

CREATE TRIGGER participant_timezones_current_insert AFTER INSERT ON participant_timezones
BEGIN
    UPDATE participants SET current_timezone = (
        SELECT t.timezone FROM participant_timezones t WHERE t.participant_id = NEW.participant_id
        ORDER BY t.effective_from DESC, t.id DESC LIMIT 1)
    WHERE id = NEW.participant_id;
END;

CREATE TRIGGER participant_timezones_current_update AFTER UPDATE ON participant_timezones
BEGIN
    UPDATE participants SET current_timezone = (
        SELECT t.timezone FROM participant_timezones t WHERE t.participant_id = participants.id
        ORDER BY t.effective_from DESC, t.id DESC LIMIT 1)
    WHERE id IN (OLD.participant_id, NEW.participant_id);
END;

CREATE TRIGGER participant_timezones_current_delete AFTER DELETE ON participant_timezones
BEGIN
    UPDATE participants SET current_timezone = (
        SELECT t.timezone FROM participant_timezones t WHERE t.participant_id = OLD.participant_id
        ORDER BY t.effective_from DESC, t.id DESC LIMIT 1)
    WHERE id = OLD.participant_id;
END;

CREATE TRIGGER injections_first_insert AFTER INSERT ON injections
BEGIN
    UPDATE participants SET first_injection_date = (
        SELECT min(i.date) FROM injections i WHERE i.participant_id = NEW.participant_id)
    WHERE id = NEW.participant_id;
END;

CREATE TRIGGER injections_first_update AFTER UPDATE ON injections
BEGIN
    UPDATE participants SET first_injection_date = (
        SELECT min(i.date) FROM injections i WHERE i.participant_id = participants.id)
    WHERE id IN (OLD.participant_id, NEW.participant_id);
END;

CREATE TRIGGER injections_first_delete AFTER DELETE ON injections
BEGIN
    UPDATE participants SET first_injection_date = (
        SELECT min(i.date) FROM injections i WHERE i.participant_id = OLD.participant_id)
    WHERE id = OLD.participant_id;
END;
