"""Request and response models of the identity endpoints (/auth and /users)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from domain.identity import User
from interfaces.http.schemas import (
    AvatarUrl,
    GivenPassword,
    Name,
    Password,
    Strict,
    Token,
    UserOut,
)


class RegisterBody(Strict):
    email: EmailStr = Field(max_length=254)
    password: Password
    name: Name


class LoginBody(Strict):
    email: EmailStr = Field(max_length=254)
    password: GivenPassword


class RefreshBody(Strict):
    refresh_token: Token


class LogoutBody(Strict):
    refresh_token: Token | None = None


class ForgotBody(Strict):
    email: EmailStr = Field(max_length=254)


class ResetBody(Strict):
    token: Token
    password: Password


class PasswordBody(Strict):
    current_password: GivenPassword
    new_password: Password


class ProfileBody(Strict):
    name: Name | None = None
    avatar_url: AvatarUrl | None = None


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105
    expires_in: int
    user: UserOut


class Message(BaseModel):
    detail: str


class UserUpdate(Strict):
    name: Name | None = None
    avatar_url: AvatarUrl | None = None
    role: Literal["admin", "member"] | None = None
    is_active: bool | None = None


def user_out(user: User) -> UserOut:
    """The answer's user from the aggregate itself (no read model needed)."""
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        avatar_url=user.avatar_url,
        role=user.role,
        is_active=user.is_active,
        email_verified=user.email_verified,
        created_at=user.created_on,
        updated_at=user.modified_on,
        version=user.version,
    )
