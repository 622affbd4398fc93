"""``curator keygen``: a new Ed25519 key pair for signing build manifests
(:mod:`curator.signing`).

The private key (base64 of the raw 32 bytes) goes into ``CURATOR_SIGNING_KEY`` (a CI
secret) or a file named by ``CURATOR_SIGNING_KEY_FILE``; the public key, as
``ed25519:<base64>``, goes into ``signing_keys`` in ``registry.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from curator.cli._errors import ExitCode

__all__ = ["keygen"]


@click.command("keygen")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the private key to this new file (mode 0600) instead of printing it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keygen(out: Path | None, as_json: bool) -> None:
    """Generate a signing key pair: print the private key and the public key to pin."""
    from curator.signing import generate_key

    key = generate_key()
    secret = key.private_text()
    if out is not None:
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            click.echo(f"curator: error: {out}: {exc.strerror or exc}", err=True)
            raise click.exceptions.Exit(int(ExitCode.USAGE)) from None
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{secret}\n")
    data = {
        "key_id": key.key_id,
        "public_key": key.public.pinned,
        "private_key": None if out is not None else secret,
        "private_key_file": str(out) if out is not None else None,
    }
    if as_json:
        click.echo(json.dumps(data, sort_keys=True))
        return
    if out is None:
        click.echo(f"private key (secret; set CURATOR_SIGNING_KEY to it): {secret}")
    else:
        click.echo(f"private key written to {out} (set CURATOR_SIGNING_KEY_FILE={out})")
    click.echo(f"public key  (add to signing_keys in registry.json):   {key.public.pinned}")
    click.echo(f"key id      {key.key_id}")
