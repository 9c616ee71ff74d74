-- Undo 20261126094000 (add task due date).

ALTER TABLE tasks DROP COLUMN due_date;
