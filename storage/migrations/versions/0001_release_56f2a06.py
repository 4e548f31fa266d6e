"""The schema of release 56f2a06, the last made without migrations (its ``create_all``).

Nothing to run: a database of that release is stamped with this revision by
``plantroom migrate`` and upgraded from here.
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing: the tables exist already."""
