"""The demo's beacon: a local test network, clearly labelled, never a public beacon.

A real ledger pins drand quicknet (League of Entropy) and its drawers bring
the signature of the round they named, published by the network. The demo
city and the tests run offline, so their ledgers pin this local network
instead (beacon ID `local-test-not-public`): whoever holds its seed can sign
any round in advance, which is exactly why no real ledger may pin it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.beacon.local import LocalBeaconNetwork
from ledger.demo.clock import current_run
from ledger.domain.commands import Command
from ledger.domain.draws import BeaconChoice, CommitBody
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer
from ledger.services import draws
from ledger.services.ledger import LedgerService

DEMO_BEACON = LocalBeaconNetwork("drledger demo city: a local test beacon, NOT public randomness")


def demo_beacons() -> list[dict[str, Any]]:
    """The chain info a demo or test ledger pins at genesis."""
    return [DEMO_BEACON.network.to_chain_info()]


def commit_and_draw(ledger: LedgerService, signer: Signer, actor: str, task_id: str,
                    beacon: LocalBeaconNetwork = DEMO_BEACON) -> draws.DrawRecord:
    """Commit to the local network's next rounds, then draw with the round's signature at once
    (a public beacon's signature exists only once the round is published). While a demo runs
    (demo/clock.py), its clock names the round and its seed gives the commitment's salt key."""
    network = beacon.network
    round_number = network.round_at(int(utc_now().timestamp()) + 2 * network.period)
    body = CommitBody(task_id=task_id, beacons=(BeaconChoice(network=network.beacon_id, round=round_number),))
    source = draws.draw_inputs_source(ledger)
    run = current_run()

    def salted(command: Command, position: int) -> Any:
        inputs = source(command, position)
        if run is None or inputs is None:
            return inputs
        return msgspec.structs.replace(inputs, salt_key=run.salt_key(task_id, position))

    ledger.submit(sign_command(signer, actor, "draw.commit", msgspec.to_builtins(body)), attachment_source=salted)
    return draws.run_draw(ledger, signer, actor, task_id, [beacon.signature_for(round_number).hex()])
