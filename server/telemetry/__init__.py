"""Install telemetry: Composer's notify-batch (``POST /downloads``) counted privately.

- :mod:`server.telemetry.payload`: parsing and bounding the request body;
- :mod:`server.telemetry.clientip`: the client address, believing ``X-Forwarded-For`` only
  from trusted proxies;
- :mod:`server.telemetry.resolve`: which entries name a package and version of the build;
- :mod:`server.telemetry.store`: deduplication (salted keys, a sliding 24 h window) and
  counted installs;
- :mod:`server.telemetry.rollup`: counted installs into daily, monthly and total counts;
- :mod:`server.telemetry.counts`: the database-backed :class:`server.counts.Counts`;
- :mod:`server.telemetry.scheduler`: periodic rollups inside the server process;
- :mod:`server.telemetry.cli`: ``curator telemetry migrate|rollup``.
"""
