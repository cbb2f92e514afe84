"""The staff console's own endpoints: sites, adherence, the audit trail, and a
participant's entries with their corrections and staff data clarifications."""
