-- nmig:parents 20261126090000
-- nmig:message create tasks

CREATE TABLE tasks (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	title text NOT NULL CHECK (title <> ''),
	done boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- The table is new and empty, so a plain CREATE INDEX takes no time.
CREATE INDEX tasks_user_id_idx ON tasks (user_id);
