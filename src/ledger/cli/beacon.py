"""`drledger beacon`: check a public beacon round offline, find a round by time.

Only click is imported at module level; the beacon package (and its
BLS12-381 library) is imported inside each command, so `--help` is instant.
Nothing here touches a ledger or the network: a network is `quicknet`
(built in) or a drand chain info JSON file.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from ledger.cli.common import EXIT_ERROR, EXIT_FAILED_CHECK, fail

if TYPE_CHECKING:
    from ledger.beacon.network import BeaconNetwork

_HELP = {"help_option_names": ["-h", "--help"]}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIX = re.compile(r"-?[0-9]+")
LOCAL_NOTE = ("note: {id} is a LOCAL TEST beacon, not a public one: "
              "whoever knows its seed chooses its randomness")

network_option = click.option(
    "--network", "network_name", default="quicknet", show_default=True, metavar="quicknet|FILE.json",
    help="The built-in League of Entropy quicknet, or a drand chain info JSON file.",
)


def load_network(name: str) -> BeaconNetwork:
    """`quicknet`, or the chain info in file `name` (exit 2 with one line if unusable)."""
    from ledger.beacon import QUICKNET, BeaconInvalid, BeaconNetwork

    if name == "quicknet":
        return QUICKNET
    try:
        with open(name, "rb") as handle:
            info = json.loads(handle.read().decode("utf-8"))
    except OSError as error:
        fail(f"cannot read --network {name!r}: {error.strerror}")
    except (UnicodeDecodeError, ValueError) as error:
        fail(f"--network {name!r} is not UTF-8 JSON: {error}")
    try:
        network = BeaconNetwork.from_chain_info(info)
    except BeaconInvalid as error:
        fail(f"--network {name!r}: {error.code}: {error.message}")
    return network


def note_if_local(network: BeaconNetwork) -> None:
    """After a command succeeded: say on stderr that a local test network proves nothing."""
    if network.is_local_test:
        click.echo(LOCAL_NOTE.format(id=network.beacon_id), err=True)


def parse_time(text: str) -> int:
    """Unix seconds from digits, or from ISO 8601 with a timezone; a fraction rounds up.

    >>> parse_time("1692803367"), parse_time("2023-08-23T23:09:27+08:00"), parse_time("2023-08-23T15:09:26.2Z")
    (1692803367, 1692803367, 1692803367)
    """
    if _UNIX.fullmatch(text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither unix seconds nor an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no timezone: add Z, +08:00 or another offset")
    elapsed = moment - _EPOCH
    micro = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds
    return -(-micro // 1_000_000)  # the first whole second at or after the moment


def when(t: int) -> str:
    """Unix second ``t`` as UTC ISO 8601 and as unix seconds.

    >>> when(1692803367)
    '2023-08-23T15:09:27Z (unix 1692803367)'
    >>> when(2**62)
    'unix 4611686018427387904 (after the year 9999)'
    """
    try:
        return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z") + f" (unix {t})"
    except (OverflowError, ValueError, OSError):
        return f"unix {t} (after the year 9999)"


@click.group(context_settings=_HELP, epilog="""\b
Examples:
  drledger beacon round --at 2026-03-01T10:00:00+08:00
  drledger beacon verify --round 1000 --signature b44679b9…ed5e39
  drledger beacon local --seed demo --chain-info > local.json   # a TEST network, offline
""")
def beacon() -> None:
    """Public randomness beacon (drand quicknet): verify a round offline, find a round by time.

    A draw names a future beacon round in advance; once the round is
    published, anyone checks its signature against the network's public key
    and derives the same randomness. Spec: docs/beacon.md.
    """


@beacon.command(context_settings=_HELP, epilog="""\b
Examples:
  drledger beacon verify --round 1000 \\
    --signature b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39
      (prints fe290beca10872ef2fb164d2aa4442de4566183ec51c56ff3cd603d930e54fdd)
  drledger beacon verify --round 5 --signature "$(drledger beacon local --seed s --round 5)" --network local.json
""")
@click.option("--round", "round_", required=True, type=int, help="The round number (from 1).")
@click.option("--signature", required=True, metavar="HEX", help="The round's 48-byte signature, as hex.")
@network_option
def verify(round_: int, signature: str, network_name: str) -> None:
    """Verify a round's signature; print its randomness, SHA-256(signature), as hex.

    Exit 0: the signature is the network's for this round. Exit 1: refused,
    with a stable code (round_not_positive, round_too_large, unknown_scheme,
    bad_public_key, bad_signature_encoding, bad_signature) and the reason.
    Exit 2: unusable options or network file. Offline: the signature comes
    from wherever you fetched the round (e.g. api.drand.sh/<chain hash>/public/<round>).
    """
    network = load_network(network_name)
    from ledger.beacon import BeaconInvalid, parse_signature_hex, verify_round
    from ledger.beacon.network import check_round

    try:
        check_round(round_)  # first, as verify_round does: the round's refusal wins over the signature's
        randomness = verify_round(network, round_, parse_signature_hex(signature))
    except BeaconInvalid as error:
        fail(f"refused ({error.code}): {error.message}", EXIT_FAILED_CHECK)
    click.echo(randomness.hex())
    note_if_local(network)


@beacon.command("round", context_settings=_HELP, epilog="""\b
Examples:
  drledger beacon round --at 2026-03-01T10:00:00+08:00
  drledger beacon round --at 1692806364
      (prints: round 1000 of quicknet is published at 2023-08-23T15:59:24Z (unix 1692806364))
  drledger beacon round --round 1000
""")
@click.option("--at", "at", metavar="TIME", help="ISO 8601 with a timezone, or unix seconds.")
@click.option("--round", "round_", type=int, help="Instead of --at: when this round is published.")
@network_option
def round_cmd(at: str | None, round_: int | None, network_name: str) -> None:
    """The first round published at or after TIME, and its publication time.

    Round r is published at genesis_time + (r - 1) * period. A draw that
    names this round in advance uses randomness nobody knows before TIME.
    """
    if (at is None) == (round_ is None):
        fail("give exactly one of --at TIME or --round N", EXIT_ERROR)
    network = load_network(network_name)
    from ledger.beacon import BeaconInvalid

    try:
        number = network.round_at(parse_time(at)) if at is not None else round_
        published = network.published_at(number)
    except click.BadParameter as error:
        fail(f"--at: {error.message}")
    except BeaconInvalid as error:
        fail(f"{error.code}: {error.message}")
    click.echo(f"round {number} of {network.beacon_id} is published at {when(published)}")
    note_if_local(network)


@beacon.command(context_settings=_HELP, epilog="""\b
Examples:
  drledger beacon local --seed demo --chain-info > local.json
  drledger beacon local --seed demo --round 5
  drledger beacon verify --round 5 --signature "$(drledger beacon local --seed demo --round 5)" --network local.json
""")
@click.option("--seed", required=True, help="Any text; the same seed gives the same test network.")
@click.option("--round", "round_", type=int, help="Print this round's signature (hex).")
@click.option("--chain-info", is_flag=True, help="Print the test network's chain info JSON instead.")
def local(seed: str, round_: int | None, chain_info: bool) -> None:
    """A LOCAL TEST beacon (NOT public): sign any round, for tests and the demo.

    Its beacon ID is local-test-not-public and whoever knows the seed chooses
    its randomness, so it proves nothing about a draw. It uses quicknet's
    scheme, so `drledger beacon verify --network FILE` can be tried offline.
    """
    if chain_info == (round_ is not None):
        fail("give exactly one of --round N or --chain-info", EXIT_ERROR)
    from ledger.beacon import BeaconInvalid, LocalBeaconNetwork

    test_network = LocalBeaconNetwork(seed)
    if chain_info:
        click.echo(json.dumps(test_network.network.to_chain_info(), indent=2))
    else:
        assert round_ is not None
        try:
            click.echo(test_network.signature_for(round_).hex())
        except BeaconInvalid as error:
            fail(f"{error.code}: {error.message}")
    note_if_local(test_network.network)
