"""``/admin/login``: the sign-in form (GET) and its submission (POST).

Not behind the admin guard (nobody is signed in yet). The form carries a double-submit CSRF
token (:func:`server.admin.web.login_csrf`). Answers: 303 to the page asked for (an admin
path only) with a new session cookie; 401 for wrong credentials, 429 when the client or the
account is locked out, 403 for a missing or wrong CSRF token, 400 for empty fields, each
with the form again. The messages of 401 and 429 never depend on whether the account
exists. Logout is ``POST /admin/logout`` (:mod:`server.routes.admin`, behind the guard).
"""

from __future__ import annotations

from typing import Final

import anyio
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency

from server.admin.area import AdminArea
from server.admin.auth import Outcome
from server.admin.web import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    MAX_FORM_BODY,
    admin_html,
    client_address,
    cookie_name,
    expired_cookie,
    is_https,
    login_csrf,
    read_form,
    redirect,
    safe_next,
    session_cookie,
    session_token,
    tokens_match,
)
from server.site import AnyRequest, Site

BAD_CREDENTIALS: Final = "The email address or the password is not correct."
LOCKED_OUT: Final = (
    "Too many failed sign-in attempts. Sign-in is paused for a while; try again later."
)
EMPTY: Final = "Enter your email address and your password."
EXPIRED: Final = "The sign-in form had expired. Please try again."
MAX_EMAIL: Final = 320


class AdminLoginController(Controller):
    path = "/admin/login"
    include_in_schema = False
    request_max_body_size = MAX_FORM_BODY

    def _form(
        self,
        request: AnyRequest,
        site: Site,
        admin: AdminArea,
        *,
        status: int = 200,
        error: str | None = None,
        notice: str | None = None,
        email: str = "",
        next_url: str = "/admin/",
    ) -> Response[bytes]:
        secure = is_https(request, admin.trusted)
        token, cookie = login_csrf(request, secure)
        body = site.render(
            "admin/login.html",
            csrf_token=token,
            csrf_field=CSRF_FIELD,
            next_url=next_url,
            email=email,
            error=error,
            notice=notice,
        )
        response = admin_html(body, status)
        response.set_cookie(cookie)
        return response

    @get("/", sync_to_thread=False)
    def form(
        self, request: AnyRequest, site: NamedDependency[Site], admin: NamedDependency[AdminArea]
    ) -> Response[bytes]:
        params = request.query_params
        notice = "You have signed out." if params.get("signed_out") == "1" else None
        return self._form(
            request, site, admin, notice=notice, next_url=safe_next(params.get("next"))
        )

    @post("/", status_code=200)
    async def submit(
        self, request: AnyRequest, site: NamedDependency[Site], admin: NamedDependency[AdminArea]
    ) -> Response[bytes]:
        secure = is_https(request, admin.trusted)
        form = await read_form(request)
        next_url = safe_next(form.get("next"))
        email = form.get("email", "")[:MAX_EMAIL]
        password = form.get("password", "")
        expected = request.cookies.get(cookie_name(LOGIN_CSRF_COOKIE, secure))
        if not tokens_match(form.get(CSRF_FIELD), expected):
            return self._form(
                request, site, admin, status=403, error=EXPIRED, email=email, next_url=next_url
            )
        if not email.strip() or not password:
            return self._form(
                request, site, admin, status=400, error=EMPTY, email=email, next_url=next_url
            )
        result = await anyio.to_thread.run_sync(
            admin.auth.login,
            email,
            password,
            client_address(request, admin.trusted),
            session_token(request, admin.trusted),
        )
        if result.outcome is Outcome.LOCKED:
            return self._form(
                request, site, admin, status=429, error=LOCKED_OUT, email=email, next_url=next_url
            )
        if result.outcome is not Outcome.OK or result.token is None:
            return self._form(
                request,
                site,
                admin,
                status=401,
                error=BAD_CREDENTIALS,
                email=email,
                next_url=next_url,
            )
        return redirect(
            next_url,
            cookies=[
                session_cookie(result.token, secure, admin.settings.session_absolute),
                expired_cookie(LOGIN_CSRF_COOKIE, secure),
            ],
        )
