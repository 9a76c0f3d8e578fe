"""The log as C2SP tlog-tiles, checked by a client written from the spec.

The client below shares no code with the server: its own path encoding, tile
math (which tiles a tree size needs, full or partial), RFC 6962 hashing,
signed-note verification and inclusion check. It fetches the checkpoint and
tiles from the app, recomputes the root, checks it against the signed
checkpoint and proves every entry (from the entry bundles) into it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar.testing import TestClient

from ledger.api.app import create_app
from ledger.api.auth import make_token
from ledger.integrity.keys import read_key_file
from ledger.services.checkpoints import publish_checkpoint
from ledger.store.reader import open_reader
from tests.ledger_helpers import ORIGIN, entity_rows, ledger_with_entities

# ---------------------------------------------------------------- the client


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(entry: bytes) -> bytes:
    return sha256(b"\x00" + entry)


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def index_path(n: int) -> str:
    """tlog-tiles: 3-digit elements, all but the last prefixed with x."""
    digits = str(n)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def open_checkpoint_note(note: str, name: str, public_key: bytes) -> tuple[int, bytes]:
    """signed-note: verify the log's Ed25519 line, return (size, root)."""
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    key_id = sha256(name.encode() + b"\n\x01" + public_key)[:4]
    found = False
    for line in signatures.splitlines():
        assert line.startswith("\u2014 ")
        signer, _, blob = line[2:].partition(" ")
        raw = base64.b64decode(blob)
        if signer == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], text.encode())  # raises if bad
            found = True
    assert found, "the checkpoint carries no signature by the log key"
    origin, size, root = text.splitlines()
    assert origin == name
    return int(size), base64.b64decode(root)


class TileClient:
    def __init__(self, http: TestClient, size: int, token: str | None = None) -> None:
        self.http, self.size, self.token = http, size, token
        self.tiles: dict[tuple[str, int], bytes] = {}

    def width(self, level: int, n: int) -> int:
        """Width of tile n at level `level` in a tree of self.size: 256 if full, else the partial width."""
        if n < self.size // 256 ** (level + 1):
            return 256
        width = (self.size // 256 ** level) % 256
        assert n == self.size // 256 ** (level + 1) and width > 0, "no such tile for this size"
        return width

    def fetch(self, level: int | str, n: int) -> bytes:
        if (str(level), n) not in self.tiles:
            width = self.width(0 if level == "entries" else int(level), n)
            path = f"/log/tile/{level}/{index_path(n)}" + ("" if width == 256 else f".p/{width}")
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            answer = self.http.get(path, headers=headers)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["content-type"] == "application/octet-stream"
            self.tiles[(str(level), n)] = answer.content
        return self.tiles[(str(level), n)]

    def stored_hash(self, height: int, index: int) -> bytes:
        """Hash of the complete subtree (height, index) when height is a multiple of 8: read from a tile."""
        level = height // 8
        data = self.fetch(level, index // 256)
        offset = (index % 256) * 32
        assert offset + 32 <= len(data)
        return data[offset:offset + 32]

    def subtree(self, height: int, index: int) -> bytes:
        """MTH of leaves [index * 2^height, (index + 1) * 2^height): from the tile below, hashed up."""
        base = height - height % 8
        hashes = [self.stored_hash(base, (index << (height - base)) + i) for i in range(1 << (height - base))]
        while len(hashes) > 1:
            hashes = [node(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def mth(self, lo: int, hi: int) -> bytes:
        """RFC 6962 MTH(D[lo:hi]) over complete subtrees (lo aligned as the recursion guarantees)."""
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            return self.subtree(n.bit_length() - 1, lo // n)
        k = 1 << ((n - 1).bit_length() - 1)
        return node(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """RFC 6962 PATH(m, D[lo:hi])."""
        n = hi - lo
        if n == 1:
            return []
        k = 1 << ((n - 1).bit_length() - 1)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def entries(self) -> list[bytes]:
        out: list[bytes] = []
        for n in range((self.size + 255) // 256):
            data = self.fetch("entries", n)
            while data:
                length = int.from_bytes(data[:2], "big")
                out.append(data[2:2 + length])
                data = data[2 + length:]
        return out


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn & 1 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# ---------------------------------------------------------------- the tests


@pytest.fixture
def served(store):  # type: ignore[no-untyped-def]
    ledger = ledger_with_entities(store, 300)
    auditor = ledger.register("AUD-1", "auditor")
    with TestClient(create_app(store)) as client:
        yield ledger, client, make_token(auditor, "AUD-1", ORIGIN)


def _check_log(ledger: Any, client: TestClient, token: str) -> tuple[int, TileClient]:
    answer = client.get("/log/checkpoint")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    public_key = read_key_file(ledger.store.keys_dir / "ledger.pem", None).public_key
    size, root = open_checkpoint_note(answer.text, ORIGIN, public_key)
    tiles = TileClient(client, size, token)
    assert tiles.mth(0, size) == root
    entries = tiles.entries()
    assert len(entries) == size
    with open_reader(ledger.store) as reader:  # the entries are the chain's event hashes, in order
        assert entries == [row.hash for row in reader.rows(1, size)]
    for i, entry in enumerate(entries):
        assert tiles.stored_hash(0, i) == leaf(entry)
        assert verify_inclusion(leaf(entry), i, size, tiles.path(i, 0, size), root), i
    return size, tiles


def test_a_spec_client_recomputes_the_root_and_proves_every_entry(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client, token = served
    assert client.get("/log/checkpoint").status_code == 404  # nothing published yet
    assert client.get("/log/checkpoint").json()["code"] == "not_found"
    publish_checkpoint(ledger.store)
    size, tiles = _check_log(ledger, client, token)
    assert size > 256  # a full level-0 tile and a partial level-1 tile were used
    full = client.get("/log/tile/0/000")
    assert "immutable" in full.headers["cache-control"] and len(full.content) == 8192
    partial = client.get(f"/log/tile/1/000.p/{size // 256}")
    assert "immutable" not in partial.headers["cache-control"] and len(partial.content) == 32 * (size // 256)

    ledger.import_rows("admin", "entities", entity_rows(250, start=300))
    publish_checkpoint(ledger.store)
    bigger, _ = _check_log(ledger, client, token)
    assert bigger > size
    again = client.get("/log/tile/0/000")
    assert again.content == full.content  # a full tile never changes


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_entry_bundles_need_an_auditor_token(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client, _ = served
    clerk = ledger.register("CLK-1", "planner")
    assert client.get("/log/tile/entries/000").status_code == 401
    answer = client.get("/log/tile/entries/000", headers={"Authorization": f"Bearer {make_token(clerk, 'CLK-1', ORIGIN)}"})
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    assert client.get("/log/tile/0/000").status_code == 200  # hash tiles are public


BAD_PATHS = [
    ("0/0", 400), ("0/00", 400), ("0/0000", 400), ("0/x000/001", 400), ("0/001/001", 400), ("0/x01/001", 400),
    ("0/xabc", 400), ("00/000", 400), ("64/000", 400), ("-1/000", 400), ("0/000.p/0", 400), ("0/000.p/256", 400),
    ("0/000.p/01", 400), ("0/000.p/", 400), ("0/000.p/x", 400), ("0", 400), ("entries", 400), ("0/000/", 400),
    ("0/001", 404), ("1/000", 404), ("63/000", 404), ("0/x999/x999/x999/x999/x999/x999/x999/999", 404),
    ("0/001.p/255", 404), ("2/000.p/1", 404), ("0/x001/000", 404), ("entries/001", 404),
]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_malformed_or_missing_tiles_answer_with_the_error_body(served) -> None:  # type: ignore[no-untyped-def]
    _, client, token = served
    for path, status in BAD_PATHS:
        answer = client.get(f"/log/tile/{path}", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == status, (path, answer.text[:200])
        body = answer.json()
        assert body["code"] == ("invalid" if status == 400 else "not_found") and body["message"] and body["detail"], path


def test_index_encoding_matches_the_spec_example() -> None:
    from ledger.services.tiles import encode_index, parse_tile_path

    assert index_path(1234067) == encode_index(1234067) == "x001/x234/067"
    assert parse_tile_path("0/x001/x234/067.p/12") == (0, 1234067, 12)


def test_tile_paths_round_trip_and_anything_else_is_a_path_error() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from ledger.services.tiles import TilePathError, parse_tile_path, tile_path

    @given(st.one_of(st.none(), st.integers(0, 63)), st.integers(0, 2**64), st.one_of(st.none(), st.integers(1, 255)))
    def round_trip(level: int | None, index: int, width: int | None) -> None:
        path = tile_path(level, index, width)
        assert path.split("/", 1)[1].split(".p/")[0] == ("entries/" if level is None else f"{level}/") + index_path(index)
        assert parse_tile_path(path.removeprefix("tile/")) == (level, index, width)

    @given(st.text(alphabet="0123456789x./pentris-", max_size=40))
    def only_path_errors(text: str) -> None:
        try:
            parsed = parse_tile_path(text)
        except TilePathError:
            return
        assert tile_path(*parsed) == "tile/" + text.removeprefix("/")  # only the canonical spelling is accepted

    round_trip()
    only_path_errors()
