"""A realistic event log made by the real domain aggregates of every context, shared by the
rebuild benchmark (bench/rebuild.py) and the bulk-rebuild test (tests/test_rebuild_bulk.py):
``World`` (world.py) makes the setup, card, task and comment commands; ``generate`` (mix.py)
adds time tracking, administration and the weighted activity mix. Not shipped in the package."""

from sample_log.mix import generate
from sample_log.world import Row, Sink, World

__all__ = ["Row", "Sink", "World", "generate"]
