-- Staff accounts carry the person's full name (SPEC §14, §15): it is printed with
-- every electronic signature and shown in the audit trail beside the e-mail.
-- Accounts created before keep NULL until an admin sets the name.
ALTER TABLE staff ADD COLUMN full_name TEXT CHECK (full_name IS NULL OR length(trim(full_name)) BETWEEN 2 AND 120);
