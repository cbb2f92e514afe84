"""`flask --app wsgi diary vapid-keys`: a new VAPID key pair for Web Push."""

from __future__ import annotations

import click

from . import webpush


@click.command("vapid-keys")
@click.option("--pem", is_flag=True, help="Also print the private key as PEM (PKCS#8).")
def vapid_keys(pem: bool) -> None:
    """Print a new VAPID key pair: the public key for browsers, the private key for
    DIARY_VAPID_PRIVATE_KEY (keep it out of git)."""
    pair = webpush.generate_keys()
    click.echo(f"public key (applicationServerKey): {pair.public_key}")
    click.echo(f"DIARY_VAPID_PRIVATE_KEY={pair.private_key}")
    if pem:
        click.echo(pair.private_pem, nl=False)
