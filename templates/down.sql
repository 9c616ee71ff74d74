-- Undo {{id}} ({{message}}). Delete this file if the migration cannot be undone.

