-- nmig:parents {{parents}}
-- nmig:message {{message}}
{{transaction}}
-- Write the forward migration below. It runs in one transaction unless the
-- header says `-- nmig:transaction off`.

