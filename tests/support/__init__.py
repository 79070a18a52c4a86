"""What tests share and is not a test: fixtures' building blocks (databases, settings, the
``Api`` client), servers spawned for a test, authorization matrix rows, and per-context helpers.
Test files import from here, never from each other or from conftest.py."""
