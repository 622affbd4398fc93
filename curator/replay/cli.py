"""``curator replay``: serve recorded WordPress.org data on 127.0.0.1 (a click command).

Mount it with ``group.add_command(replay)``; ``python -m curator.replay`` runs it directly.
Once the server accepts connections it prints exactly one line to stdout::

    replay listening on http://127.0.0.1:PORT
"""

from __future__ import annotations

from pathlib import Path

import click

from curator.replay.corpus import load_corpora, sample_corpus_paths
from curator.replay.faults import FaultConfig
from curator.replay.server import run_replay
from curator.replay.state import DEFAULT_REVISION, ReplayState, load_script

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _ready(base_url: str) -> None:
    print(f"replay listening on {base_url}", flush=True)


@click.command("replay")
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    type=_FILE,
    help="Plugin records (.jsonl, .jsonl.xz, .jsonl.gz); repeatable.",
)
@click.option(
    "--themes",
    "theme_corpora",
    multiple=True,
    type=_FILE,
    help="Theme records (same formats); repeatable.",
)
@click.option(
    "--sample",
    is_flag=True,
    help="Serve the sample corpus (the default when no --corpus/--themes is given).",
)
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option(
    "--revision",
    type=int,
    default=DEFAULT_REVISION,
    show_default=True,
    help="Initial head revision of the plugins and themes SVN repositories.",
)
@click.option(
    "--theme-revision",
    type=int,
    default=None,
    help="Initial head revision of the themes repository (default: --revision).",
)
@click.option(
    "--script",
    type=_FILE,
    default=None,
    help="JSON list of steps applied one by one by POST /_replay/step.",
)
@click.option(
    "--public-base",
    default=None,
    help="Base URL written into rewritten download links (default: request Host).",
)
@click.option(
    "--latency-ms",
    type=float,
    default=0.0,
    show_default=True,
    help="Delay added to every answer, in milliseconds.",
)
@click.option(
    "--error-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of requests answered 500/502/503.",
)
@click.option(
    "--rate-limit-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of requests answered 429.",
)
@click.option(
    "--retry-after",
    type=int,
    default=1,
    show_default=True,
    help="Retry-After seconds sent with 429.",
)
@click.option(
    "--malformed-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of requests answered 200 with HTML or truncated JSON.",
)
@click.option(
    "--hang-rate", type=float, default=0.0, show_default=True, help="Share of requests that hang."
)
@click.option(
    "--hang-seconds",
    type=float,
    default=3600.0,
    show_default=True,
    help="How long a hanging request hangs.",
)
@click.option(
    "--sticky",
    is_flag=True,
    help="Decide faults by hash(seed, slug): retries of a slug fail the same way.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault injection.")
@click.option(
    "--fault-scope",
    type=click.Choice(["info", "all"]),
    default="info",
    show_default=True,
    help="'all' also faults listings, logs and downloads.",
)
def replay(
    corpora: tuple[Path, ...],
    theme_corpora: tuple[Path, ...],
    sample: bool,
    port: int,
    revision: int,
    theme_revision: int | None,
    script: Path | None,
    public_base: str | None,
    latency_ms: float,
    error_rate: float,
    rate_limit_rate: float,
    retry_after: int,
    malformed_rate: float,
    hang_rate: float,
    hang_seconds: float,
    sticky: bool,
    seed: int,
    fault_scope: str,
) -> None:
    """Serve a local replay of WordPress.org (info APIs, SVN listings, Trac logs, downloads)."""
    if sample or not (corpora or theme_corpora):
        sample_plugins, sample_themes = sample_corpus_paths()
        corpora = (*corpora, sample_plugins)
        theme_corpora = (*theme_corpora, sample_themes)
    try:
        faults = FaultConfig(
            latency_ms=latency_ms,
            error_rate=error_rate,
            rate_limit_rate=rate_limit_rate,
            retry_after=retry_after,
            malformed_rate=malformed_rate,
            hang_rate=hang_rate,
            hang_seconds=hang_seconds,
            seed=seed,
            sticky=sticky,
            scope="all" if fault_scope == "all" else "info",
        )
        steps = load_script(script) if script is not None else None
        state = ReplayState(
            load_corpora(corpora),
            load_corpora(theme_corpora),
            revision=revision,
            theme_revision=theme_revision,
            faults=faults,
            script=steps,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        run_replay(state, port=port, public_base=public_base, on_ready=_ready)
    except OSError as exc:  # e.g. the port is taken
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {exc}") from exc
