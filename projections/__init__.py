"""Read side: projectors that turn the event log into the spec's read tables, exactly once,
and the queries over those tables."""
