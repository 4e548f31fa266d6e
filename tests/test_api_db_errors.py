"""A lost records DB is a 503 with a one-line message that never carries a password."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, OperationalError

from api.errors import db_unavailable, is_disconnect


def test_disconnect_message_is_one_line_without_credentials() -> None:
    orig = Exception(
        'connection to "postgresql://plant:s3cret@db:5432/records" failed password=hunter2\n'
        "HINT: is the server running?"
    )
    err = OperationalError("SELECT 1", {}, orig)
    text = db_unavailable(err)
    assert "s3cret" not in text and "hunter2" not in text and "\n" not in text
    assert "postgresql://plant:***@db:5432/records" in text
    assert is_disconnect(err)


def test_a_constraint_violation_is_not_a_disconnect() -> None:
    assert not is_disconnect(IntegrityError("INSERT", {}, Exception("duplicate key")))
