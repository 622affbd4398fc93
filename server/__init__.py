"""The curator's web server: browse/search pages, JSON API, repository files and health.

``server`` imports ``curator`` (never the reverse). Entry points: :func:`server.app.create_app`
(the Litestar application factory) and :data:`server.cli.serve` (``curator serve``).
"""
