"""``fedsec keys ...``: the signing key your bundles carry, and the keys you trust.

Registered on the main app by :mod:`fedsec.cli.main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from fedsec.cli.common import clean_errors, console, errors
from fedsec.cli.options import keys_app


@keys_app.command("generate")
@clean_errors
def generate_command(
    out: Annotated[
        Path | None,
        typer.Option(help="Private key file (default: $FEDSEC_SIGNING_KEY or $FEDSEC_HOME)."),
    ] = None,
) -> None:
    """Create an Ed25519 signing key (mode 600) and its public key (KEY.pub); never replaces
    an existing key."""
    from fedsec.bundles.keys import configured_key, generate_key, public_path

    path, fingerprint = generate_key(out or configured_key()[0])
    console.print(
        f"signing key: [bold]{escape(str(path))}[/] (private: keep it, mode 600)", highlight=False
    )
    console.print(
        f"public key:  [bold]{escape(str(public_path(path)))}[/] {fingerprint}", highlight=False
    )
    if out is not None and out != configured_key()[0]:
        console.print(escape(f"sign your bundles with it: export FEDSEC_SIGNING_KEY={path}"))


@keys_app.command("show")
@clean_errors
def show_command() -> None:
    """Your signing key and every key and federation CA you trust."""
    from fedsec.bundles.keys import configured_key, describe, own_public_key, trusted_dir
    from fedsec.bundles.keys import trusted_files as listed
    from fedsec.bundles.signing import key_fingerprint

    path, named = configured_key()
    own = own_public_key()
    if own is None and named:  # never created: signing refuses it (docs/bundles.md)
        console.print(
            f"signing key: {path} (not a key file: $FEDSEC_SIGNING_KEY must name an existing "
            "key; fedsec keys generate --out PATH makes one)",
            highlight=False,
        )
    elif own is None:
        console.print(f"signing key: {path} (none yet; created when you first write a bundle)")
    else:
        console.print(f"signing key: {path} {key_fingerprint(own[0])}", highlight=False)
    files = listed()
    console.print(f"trusted keys and CAs in {trusted_dir()}: {len(files)}", highlight=False)
    for file in files:
        console.print(f"  {describe(file)}  ({file.name})", highlight=False)


@keys_app.command("trust")
@clean_errors
def trust_command(
    file: Annotated[Path, typer.Argument(help="An Ed25519 public key or a federation rootCA.pem.")],
) -> None:
    """Trust bundles signed by this key (or by the admins of this federation) from now on."""
    from fedsec.bundles.keys import add_trusted

    target, fingerprint = add_trusted(file)
    console.print(f"trusted: {fingerprint} (copied to {target})", highlight=False)
    console.print("compare this fingerprint with its owner over a channel you trust")


@keys_app.command("sign")
@clean_errors
def sign_command(
    bundle: Annotated[Path, typer.Argument(help="An unsigned model bundle directory.")],
) -> None:
    """Sign an unsigned (older) bundle with your key, after checking everything else in it.
    Sign only a bundle whose origin you know: your signature vouches for it."""
    from fedsec.bundles.legacy_signing import sign_unsigned

    opened = sign_unsigned(bundle)
    provenance = opened.manifest.get("provenance", {})
    console.print(
        f"signed {bundle} ({opened.manifest.get('kind', 'family-classifier')}, "
        f"scenario {provenance.get('scenario', '?')}, weights {opened.typed.weights_sha256[:16]}…)",
        highlight=False,
    )


@keys_app.command("verify")
@clean_errors
def verify_command(
    bundle: Annotated[Path, typer.Argument(help="A model bundle directory.")],
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            help="Also trust this Ed25519 public key (.pub) or federation root CA; repeatable.",
        ),
    ] = None,
) -> None:
    """Check a bundle without scoring anything: its signature against the keys you trust, its
    manifest and weights against the hashes signed; print the signer's fingerprint, the
    model's sha256s and kind. Exit status 0 when a trusted signer vouches for it, else 2."""
    from fedsec.bundles.keys import user_trust
    from fedsec.bundles.verify import verify_bundle

    verified = verify_bundle(bundle, user_trust(trust or []))
    for line in verified.lines():
        console.print(escape(line), highlight=False)
    if not verified.authenticity.trusted:
        errors.print(
            f"[bold red]not trusted:[/] {escape(str(bundle))}: do not act on its alerts "
            "until you know who signed it",
            highlight=False,
        )
        raise typer.Exit(2)
