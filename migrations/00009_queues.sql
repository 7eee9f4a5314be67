-- +goose Up

-- Queues: the console lists tickets by priority (emergency first) then age,
-- page by page from a key, and shows each queue's count on every view.

-- The order of priorities, for the queue indexes and the queries that
-- must match them.
-- +goose StatementBegin
CREATE FUNCTION ticket_priority_rank(p text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p WHEN 'emergency' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END::smallint
$$;
-- +goose StatementEnd

-- No ticket changes while the counts are filled from the tickets (an older
-- binary still running would change them without counting).
LOCK TABLE tickets IN SHARE MODE;

-- How many tickets each department has per assignee (0: none) and status,
-- kept by the transaction that opens or changes a ticket (ticket/queue_count.go),
-- so that a count is a sum over a few rows however many tickets there are.
-- day = 0 rows count every ticket; a resolved ticket is also counted in
-- the row of the day it was resolved (days since 1970-01-01, UTC), for
-- the "recently resolved" count.
CREATE TABLE queue_counts (
    department_id bigint  NOT NULL,
    assignee_id   bigint  NOT NULL,
    status        text    NOT NULL,
    day           integer NOT NULL,
    n             bigint  NOT NULL,
    PRIMARY KEY (department_id, assignee_id, status, day)
);
CREATE INDEX queue_counts_day_idx ON queue_counts (day);

INSERT INTO queue_counts (department_id, assignee_id, status, day, n)
SELECT department_id, coalesce(assignee_id, 0), status, 0, count(*)
  FROM tickets GROUP BY 1, 2, 3;
INSERT INTO queue_counts (department_id, assignee_id, status, day, n)
SELECT department_id, coalesce(assignee_id, 0), status,
       (resolved_at AT TIME ZONE 'UTC')::date - date '1970-01-01', count(*)
  FROM tickets WHERE status = 'resolved' AND resolved_at IS NOT NULL GROUP BY 1, 2, 3, 4;

-- A queue page reads one index range per department and status (ticket/queue_list.go).
CREATE INDEX tickets_queue_idx ON tickets
    (department_id, status, ticket_priority_rank(priority), created_at, id);
CREATE INDEX tickets_queue_unassigned_idx ON tickets
    (department_id, status, ticket_priority_rank(priority), created_at, id) WHERE assignee_id IS NULL;
-- An agent's own tickets by department too, so that those outside the
-- agent's departments are read without passing the others.
CREATE INDEX tickets_queue_assignee_idx ON tickets
    (assignee_id, department_id, status, ticket_priority_rank(priority), created_at, id) WHERE assignee_id IS NOT NULL;
-- Recently resolved: newest first.
CREATE INDEX tickets_resolved_idx ON tickets
    (department_id, resolved_at DESC, id DESC) WHERE status = 'resolved';
CREATE INDEX tickets_resolved_assignee_idx ON tickets
    (assignee_id, department_id, resolved_at DESC, id DESC) WHERE status = 'resolved' AND assignee_id IS NOT NULL;

-- +goose Down
DROP INDEX tickets_resolved_assignee_idx;
DROP INDEX tickets_resolved_idx;
DROP INDEX tickets_queue_assignee_idx;
DROP INDEX tickets_queue_unassigned_idx;
DROP INDEX tickets_queue_idx;
DROP TABLE queue_counts;
DROP FUNCTION ticket_priority_rank(text);
