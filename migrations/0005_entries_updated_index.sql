-- Entries written after their date was closed (an offline entry synced late, a
-- staff clarification) are found by the closing job through this index, so a
-- run reads only recent writes, not the whole table.
CREATE INDEX entries_updated ON entries (updated_at);
