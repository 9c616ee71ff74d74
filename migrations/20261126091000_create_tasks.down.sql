-- Undo 20261126091000 (create tasks).

DROP TABLE tasks;
