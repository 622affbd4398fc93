"""The admin area over HTTP: HTTPS detection, cookies, CSRF, form bodies and the guard.

- **Cookies.** The session cookie holds the opaque token (see :mod:`server.admin.sessions`):
  ``HttpOnly``, ``SameSite=Lax``, ``Path=/``; over HTTPS also ``Secure`` and named with the
  ``__Host-`` prefix (the browser then refuses it from subdomains or over plain HTTP). Lax,
  not Strict: every state change is a POST carrying a CSRF token and no GET changes
  anything, and Lax keeps links from elsewhere (a bookmark in a mail client) signed in.
- **HTTPS** is the request's scheme, or ``X-Forwarded-Proto: https`` (its right-most value)
  when the socket peer is a trusted proxy; the header of anyone else is ignored.
- **CSRF.** Every admin session has a random synchronizer token; every admin form embeds it
  and the guard checks it on every request that is not GET/HEAD, before the handler runs
  (so a new POST route cannot forget it). The login form, which has no session yet, uses a
  double-submit token: a random value in an ``HttpOnly``, ``SameSite=Strict`` cookie that
  the form must repeat.
- **The guard** (:func:`admin_guard`, set on the admin controllers) refuses requests
  without a live session: HTML GETs are redirected (303) to the login page, everything
  else gets 401. Form bodies are bounded (:data:`MAX_FORM_BODY`).
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any, Final
from urllib.parse import parse_qs, quote

import anyio
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from server.admin.area import AdminArea
from server.admin.sessions import Session
from server.site import HTML_HEADERS, Site
from server.telemetry.clientip import TrustedProxies, client_ip, parse_address

SESSION_COOKIE: Final = "curator_admin"
LOGIN_CSRF_COOKIE: Final = "curator_login_csrf"
SECURE_PREFIX: Final = "__Host-"
CSRF_FIELD: Final = "csrf_token"
MAX_FORM_BODY: Final = 16 * 1024
MAX_FORM_FIELDS: Final = 20
LOGIN_CSRF_MAX_AGE: Final = 3600
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{32,128}")
_NEXT_RE: Final = re.compile(r"/admin(/[A-Za-z0-9/_.~%=&?+-]*)?")

ADMIN_HEADERS: Final = {
    **HTML_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
}

AnyConnection = ASGIConnection[Any, Any, Any, Any]


class LoginRequired(NotAuthorizedException):
    """No live admin session (401, or a redirect to the login page for HTML GETs)."""

    status_code = 401
    detail = "Sign in to use the admin area."


class CsrfFailed(PermissionDeniedException):
    """A state-changing request without the right CSRF token (403)."""

    status_code = 403
    detail = "The form has expired or was not sent from this site. Reload it and try again."


def is_https(connection: AnyConnection, trusted: TrustedProxies) -> bool:
    """Whether the client reached us over HTTPS (see the module docstring)."""
    if connection.url.scheme in ("https", "wss"):
        return True
    peer = connection.client.host if connection.client else None
    address = parse_address(peer) if peer else None
    if address is None or address not in trusted:
        return False
    values = connection.headers.getall("x-forwarded-proto", [])
    if not values:
        return False
    last = values[-1][:100].split(",")[-1].strip().lower()
    return last == "https"


def cookie_name(base: str, secure: bool) -> str:
    return f"{SECURE_PREFIX}{base}" if secure else base


def client_address(connection: AnyConnection, trusted: TrustedProxies) -> str:
    return client_ip(
        connection.client.host if connection.client else None,
        connection.headers.getall("x-forwarded-for", []),
        trusted,
    )


def session_token(connection: AnyConnection, trusted: TrustedProxies) -> str | None:
    """The session token the browser sent (under the cookie name of this scheme)."""
    token = connection.cookies.get(cookie_name(SESSION_COOKIE, is_https(connection, trusted)))
    return token if token and _TOKEN_RE.fullmatch(token) else None


def session_cookie(token: str, secure: bool, max_age: int) -> Cookie:
    return Cookie(
        key=cookie_name(SESSION_COOKIE, secure),
        value=token,
        path="/",
        max_age=max_age,
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def expired_cookie(base: str, secure: bool) -> Cookie:
    return Cookie(
        key=cookie_name(base, secure),
        value="",
        path="/",
        max_age=0,
        expires=0,
        secure=secure,
        httponly=True,
        samesite="lax" if base == SESSION_COOKIE else "strict",
    )


def login_csrf(connection: AnyConnection, secure: bool) -> tuple[str, Cookie]:
    """The login form's double-submit token (the browser's, if it has a well-formed one)
    and the cookie carrying it."""
    found = connection.cookies.get(cookie_name(LOGIN_CSRF_COOKIE, secure))
    token = found if found and _TOKEN_RE.fullmatch(found) else secrets.token_urlsafe(32)
    cookie = Cookie(
        key=cookie_name(LOGIN_CSRF_COOKIE, secure),
        value=token,
        path="/",
        max_age=LOGIN_CSRF_MAX_AGE,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return token, cookie


def tokens_match(sent: str | None, expected: str | None) -> bool:
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as first values (bounded)."""
    try:
        text = body.decode()
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


async def read_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The request's form (the route's ``request_max_body_size`` bounds the body: 413)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    return parse_form(await request.body())


def safe_next(value: str | None) -> str:
    """Where to go after login: an admin path (never another site), default ``/admin/``."""
    if value and _NEXT_RE.fullmatch(value) and not value.startswith("/admin/login"):
        return value
    return "/admin/"


async def admin_guard(connection: AnyConnection, _handler: BaseRouteHandler) -> None:
    """Refuse requests without a live session; check the CSRF token of state changes.

    The session and, for form posts, the parsed form are left in ``connection.state``
    (``admin_session``, ``admin_form``) for the handlers."""
    admin: AdminArea = connection.app.state["admin"]
    token = session_token(connection, admin.trusted)
    session = await anyio.to_thread.run_sync(admin.sessions.lookup, token) if token else None
    if session is None:
        raise LoginRequired()
    connection.state.admin_session = session
    if isinstance(connection, Request) and connection.method not in SAFE_METHODS:
        form = await read_form(connection)
        if not tokens_match(form.get(CSRF_FIELD), session.csrf_token):
            raise CsrfFailed()
        connection.state.admin_form = form


def current_session(request: Request[Any, Any, Any]) -> Session:
    """The session the guard found (a dependency of the admin handlers)."""
    session: Session = request.state.admin_session
    return session


def current_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The CSRF-checked form the guard parsed ({} for GETs)."""
    form: dict[str, str] = getattr(request.state, "admin_form", {})
    return form


def admin_html(body: bytes, status_code: int = 200) -> Response[bytes]:
    return Response(
        content=body, status_code=status_code, media_type=MediaType.HTML, headers=ADMIN_HEADERS
    )


def redirect(location: str, cookies: list[Cookie] | None = None) -> Response[bytes]:
    return Response(
        content=b"",
        status_code=303,
        headers={"Location": location, "Cache-Control": "no-store"},
        cookies=cookies or [],
    )


def _wants_redirect(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return request.method in ("GET", "HEAD") and "text/event-stream" not in accept


def login_required(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[bytes]:
    """Exception handler of :class:`LoginRequired`."""
    if _wants_redirect(request) and not request.url.path.endswith("/stream"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(f"/admin/login?next={quote(target, safe='/')}")
    site: Site = request.app.state["site"]
    body = site.render("error.html", title="Sign-in required", message=exc.detail)
    return admin_html(body, 401)


def forbidden(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Exception handler of :class:`CsrfFailed` (and other 403s of the admin area)."""
    site: Site = request.app.state["site"]
    body = site.render("error.html", title="Forbidden", message=exc.detail)
    return admin_html(body, 403)


ADMIN_EXCEPTION_HANDLERS: Final = {LoginRequired: login_required, CsrfFailed: forbidden}
