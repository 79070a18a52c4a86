"""Adapters: HTTP (FastAPI), CLI (typer), and later Socket.IO and jobs. Parse, authorize, call,
render; no business rules here."""
