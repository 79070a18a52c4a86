"""Use cases: load aggregates, call the domain, save. No HTTP, no SQL of read tables."""
