-- Undo 20261126092000 (users email index); runs outside a transaction too.

DROP INDEX CONCURRENTLY IF EXISTS users_email_key;
