-- nmig:parents 20261126091000 20261126092000
-- nmig:message merge tasks and index

-- Merge point: joins the tasks branch and the email index branch. It runs
-- no SQL.
