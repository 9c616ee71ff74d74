-- Undo 20261126090000 (create users).

DROP TABLE users;
