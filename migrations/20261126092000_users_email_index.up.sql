-- nmig:parents 20261126090000
-- nmig:message users email index
-- nmig:transaction off

-- users may be big by now: build the index without blocking writes.
-- CONCURRENTLY cannot run inside a transaction block, hence the header.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key
	ON users (lower(email));
