-- When a resource's rules let a window start, defined once: rsvp.broken_rule (which every
-- write checks) and the free-window search of `available` both read these two functions.

-- The earliest start a resource's rules allow as of now() (the transaction's start):
-- now() + min_notice. NULL when there is no such bound (no rule, or res NULL: unregistered).
CREATE FUNCTION rsvp.earliest_start(res rsvp.resources) RETURNS timestamptz
  LANGUAGE sql STABLE
  RETURN now() + res.min_notice;

-- The latest start a resource's rules allow as of now(): now() + max_advance; NULL = none.
CREATE FUNCTION rsvp.latest_start(res rsvp.resources) RETURNS timestamptz
  LANGUAGE sql STABLE
  RETURN now() + res.max_advance;

CREATE OR REPLACE FUNCTION rsvp.broken_rule(res rsvp.resources, status rsvp.reservation_status, span tstzrange)
  RETURNS text
  LANGUAGE sql STABLE
  RETURN CASE
    WHEN res.id IS NULL OR status = 'blocked' THEN NULL
    WHEN upper(span) - lower(span) < res.min_duration THEN
      format('%s needs reservations of at least %s (min_duration)', res.id, rsvp.duration_text(res.min_duration))
    WHEN upper(span) - lower(span) > res.max_duration THEN
      format('%s takes reservations of at most %s (max_duration)', res.id, rsvp.duration_text(res.max_duration))
    WHEN lower(span) < rsvp.earliest_start(res) THEN
      format('%s needs at least %s notice (min_notice)', res.id, rsvp.duration_text(res.min_notice))
    WHEN lower(span) > rsvp.latest_start(res) THEN
      format('%s cannot be booked more than %s ahead (max_advance)', res.id, rsvp.duration_text(res.max_advance))
  END;
