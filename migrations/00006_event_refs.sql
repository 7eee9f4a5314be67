-- +goose Up
-- History events named the agent or department an assignment or transfer
-- went from and to only by name, so a renamed agent or department lost its
-- past: the names are kept as they were written, and these columns say whom
-- and what they meant.
ALTER TABLE ticket_events
    ADD COLUMN old_agent_id      bigint REFERENCES agents (id),
    ADD COLUMN new_agent_id      bigint REFERENCES agents (id),
    ADD COLUMN old_department_id bigint REFERENCES departments (id),
    ADD COLUMN new_department_id bigint REFERENCES departments (id);

-- Existing events: an agent's name counts only when exactly one agent
-- carries it (names are not unique), as the mailer has always read them, so
-- that a namesake never inherits a ticket they did not work. Department
-- names are unique in any case.
UPDATE ticket_events e
   SET old_agent_id = (SELECT min(a.id) FROM agents a WHERE lower(a.name) = lower(e.old_value) HAVING count(*) = 1),
       new_agent_id = (SELECT min(a.id) FROM agents a WHERE lower(a.name) = lower(e.new_value) HAVING count(*) = 1)
 WHERE e.action = 'assigned';

UPDATE ticket_events e
   SET old_department_id = (SELECT d.id FROM departments d WHERE lower(d.name) = lower(e.old_value)),
       new_department_id = (SELECT d.id FROM departments d WHERE lower(d.name) = lower(e.new_value))
 WHERE e.action = 'transferred';

-- +goose Down
ALTER TABLE ticket_events
    DROP COLUMN old_agent_id,
    DROP COLUMN new_agent_id,
    DROP COLUMN old_department_id,
    DROP COLUMN new_department_id;
