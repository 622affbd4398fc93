"""The admin area: users, sessions, login rate limits and the data behind the admin pages.

- :mod:`server.admin.settings`: session lifetimes and rate-limit bounds (:class:`AdminSettings`);
- :mod:`server.admin.passwords`: argon2id password hashing;
- :mod:`server.admin.users`, :mod:`server.admin.sessions`, :mod:`server.admin.ratelimit`: the
  runtime-database tables ``admin_users``, ``admin_sessions``, ``admin_login_attempts``;
- :mod:`server.admin.auth`: the login flow over those three (rate limit, verify, new session);
- :mod:`server.admin.web`: cookies, HTTPS detection, CSRF, the route guard;
- :mod:`server.admin.builds`, :mod:`server.admin.views`: what the pages show;
- :mod:`server.admin.area`: the services above, made once per app (``app.state["admin"]``);
- :mod:`server.admin.cli`: ``curator admin create|reset-password|list|disable|enable``.

The controllers are in :mod:`server.routes.admin` and :mod:`server.routes.admin_auth`.
"""
