-- nmig:parents base
-- nmig:message create users

CREATE TABLE users (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email text NOT NULL,
	name text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE users IS 'people who own tasks';
