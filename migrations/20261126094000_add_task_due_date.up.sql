-- nmig:parents 20261126093000
-- nmig:message add task due date

-- A nullable column without a default: no table rewrite, a brief lock.
ALTER TABLE tasks ADD COLUMN due_date date;
