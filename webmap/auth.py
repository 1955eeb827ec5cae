"""Who is calling: API tokens (``Authorization: Bearer TOKEN``) and the acting account's scope.

A token is 32 random bytes (``nx_`` + URL-safe text) printed once by ``nuanxin users token
NAME``; the store keeps only its SHA-256 (:mod:`stations.accounts`), so a leaked database hands
out no live token. ``--revoke`` ends every token of the account at once. The account's
:class:`~stations.scope.Scope` (role and area) is the dashboard's (:func:`webmap.users.scope_of`).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from flask import g, request

from stations import accounts
from stations.errors import AuthError, NotFoundError
from stations.scope import Scope
from webmap import users
from webmap.extensions import get_store
from webmap.sessions import utcnow

__all__ = ["TOKEN_PREFIX", "BEARER_SCHEME", "token_hash", "issue_token", "revoke_tokens",
           "scope_of_account", "request_account", "request_scope", "require_token_scope"]

#: Every token starts with this (so a leaked one is easy to recognise and to scan for).
TOKEN_PREFIX = "nx_"
#: The OpenAPI security scheme of the API's write routes.
BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "nx_…",
                 "description": "An API token from `nuanxin users token NAME` (revoke with "
                                "`--revoke`), sent as `Authorization: Bearer TOKEN`."}
_TOKEN = re.compile(r"^nx_[A-Za-z0-9_-]{20,100}$")
_BEARER = re.compile(r"^Bearer[ ]+(\S+)[ ]*$", re.IGNORECASE)


def token_hash(token: str) -> str:
    """The hex SHA-256 the store keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(store, username: str) -> str:
    """A new API token of ``username`` (stored hashed); the token itself is returned once.

    Raises
    ------
    NotFoundError
        No such account.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    if not accounts.add_token(store, username, token_hash(token), now=utcnow()):
        raise NotFoundError(f"没有用户 {username} (no such user)")
    return token


def revoke_tokens(store, username: str) -> int:
    """Revoke every live token of ``username``; how many there were."""
    count = accounts.revoke_tokens(store, username, now=utcnow())
    if count is None:
        raise NotFoundError(f"没有用户 {username} (no such user)")
    return count


def scope_of_account(row) -> Scope:
    """The :class:`Scope` of an account row (or the dashboard's user dict): the one rule,
    :func:`webmap.users.scope_of` (``staff`` rows read as :func:`stations.scope.account_role`
    says; names without codes resolved through the gazetteer)."""
    return users.scope_of(row)


def _header_token() -> str | None:
    """The bearer token of this request; ``None`` without an ``Authorization`` header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    found = _BEARER.match(header.strip())
    if found is None:
        raise AuthError("Authorization 头无效 (expected `Authorization: Bearer TOKEN`)",
                        detail={"reason": "malformed"})
    return found.group(1)


def request_account() -> dict | None:
    """The account whose live token this request carries; ``None`` without one.

    Raises
    ------
    AuthError
        A malformed header, or a token that is unknown or revoked (HTTP 401).
    """
    if "api_account" in g:
        return g.api_account
    token = _header_token()
    row = None
    if token is not None:
        # looked up by its SHA-256: an attacker's timing learns about hashes, not tokens
        row = accounts.account_by_token(get_store(), token_hash(token)) if _TOKEN.match(
            token) else None
        if row is None:
            raise AuthError("API 令牌无效或已撤销 (unknown or revoked API token)",
                            detail={"reason": "invalid token"})
        row = {k: v for k, v in row.items() if k != "password_hash"}
    g.api_account = row
    return row


def request_scope() -> Scope | None:
    """The scope of the account whose token this request carries, or ``None`` without one
    (:class:`AuthError` for a bad token)."""
    row = request_account()
    return None if row is None else scope_of_account(row)


def require_token_scope() -> Scope:
    """The scope of this request's token; :class:`AuthError` (401) without one."""
    scope = request_scope()
    if scope is None:
        raise AuthError("需要 API 令牌 (send `Authorization: Bearer TOKEN`; get one with "
                        "`nuanxin users token NAME`)", detail={"reason": "no token"})
    return scope
