"""The users' tables. Usernames are stored folded to lower case, so the unique index makes them
unique whatever the case someone types."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class User(SQLModel, table=True):
    # "user" is a reserved word in PostgreSQL; a plain name keeps hand-written SQL simple.
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    active: bool = True
    must_change_password: bool = True
    """Set while the password is one someone else chose or saw (a one-time password)."""
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only a hash of the cookie's token is kept, so a copy of the
    database cannot be used to sign in."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    """The absolute end, however active the session is."""
    last_seen_at: datetime = Field(sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in. Kept in the database, not in memory, so the limit holds across
    replicas and restarts."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    username: str = Field(max_length=64, index=True)
    client_address: str = Field(max_length=64, index=True)
