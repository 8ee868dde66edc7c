"""The users and api_tokens tables: identities of shared mode and their bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
import time

from app.store.connection import Database
from app.store.errors import NotFoundError
from app.store.records import new_id


def _token_digest(token: str) -> str:
    """Bearer tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


class UsersTable(Database):
    """Create users, check they exist, issue and revoke their bearer tokens."""

    def create_user(self) -> str:
        """A new user (an identity for shared mode); returns its id."""
        user_id = new_id()
        with self._transaction() as conn:
            conn.execute("INSERT INTO users (id, created_at) VALUES (?, ?)", (user_id, time.time()))
        return user_id

    def ensure_user(self, user_id: str) -> None:
        """Create the user with this id unless it exists (the local user of single-user mode)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user_id, time.time())
            )

    def user_exists(self, user_id: str) -> bool:
        """Whether the user exists."""
        with self._reading() as conn:
            found = conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone()
        return found is not None

    def create_token(self, user_id: str) -> str:
        """A new bearer token for the user; only its digest is stored, so show it once."""
        token = secrets.token_urlsafe(32)
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone() is None:
                raise NotFoundError(f"no user {user_id}")
            conn.execute(
                "INSERT INTO api_tokens (digest, user_id, created_at) VALUES (?, ?, ?)",
                (_token_digest(token), user_id, time.time()),
            )
        return token

    def user_for_token(self, token: str) -> str | None:
        """The user a bearer token belongs to, or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT user_id FROM api_tokens WHERE digest = ?", (_token_digest(token),)
            ).fetchone()
        return None if row is None else str(row["user_id"])

    def revoke_token(self, token: str) -> bool:
        """Forget a bearer token; False if it was unknown."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM api_tokens WHERE digest = ?", (_token_digest(token),)
            ).rowcount
        return bool(deleted)
