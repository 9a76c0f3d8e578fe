"""A C2SP tlog-witness (add-checkpoint) written from the spec, for tests.

A real HTTP server on 127.0.0.1 (ephemeral port, in a thread) with its own
cosignature/v1 Ed25519 key and its own latest (size, root) per origin. The
check-and-update is atomic under one lock, as the spec requires.
"""

from __future__ import annotations

import base64
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.integrity.merkle import ProofError, verify_consistency
from ledger.integrity.note import (
    CosignatureV1Signer,
    Ed25519Verifier,
    NoteError,
    NoteSignature,
    open_checkpoint,
)


class SpecWitness:
    def __init__(self, name: str = "witness.test/w1") -> None:
        self.name = name
        self._key = Ed25519PrivateKey.generate()
        self.logs: dict[str, Ed25519Verifier] = {}  # origin -> trusted log key
        self.latest: dict[str, tuple[int, bytes]] = {}  # origin -> (size, root)
        self.requests: list[int] = []  # status of each request, in order
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def vkey(self) -> str:
        return CosignatureV1Signer(self.name, self._key, 0).verifier().vkey

    def trust(self, vkey_or_verifier: Ed25519Verifier) -> None:
        self.logs[vkey_or_verifier.name] = vkey_or_verifier

    def __enter__(self) -> SpecWitness:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the protocol -------------------------------------------------------

    def add_checkpoint(self, body: bytes) -> tuple[int, str, str]:
        """(status, content type, body) for one add-checkpoint request."""
        try:
            text = body.decode("utf-8")
            head, _, note = text.partition("\n\n")
            lines = head.split("\n")
            if not lines[0].startswith("old ") or not lines[0][4:].isdigit():
                return 400, "text/plain", "malformed old size line\n"
            old = int(lines[0][4:])
            if lines[0][4:] != str(old):
                return 400, "text/plain", "old size has leading zeros\n"
            proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
        except (UnicodeDecodeError, ValueError):
            return 400, "text/plain", "malformed request\n"
        if len(proof) > 63:
            return 400, "text/plain", "too many proof lines\n"
        origin = note.split("\n", 1)[0]
        log_key = self.logs.get(origin)
        if log_key is None:
            return 404, "text/plain", "unknown origin\n"
        try:
            checkpoint, opened = open_checkpoint(note, log_key)
        except NoteError as error:
            return 403, "text/plain", f"checkpoint signature: {error}\n"
        if old > checkpoint.size:
            return 400, "text/plain", "old size is larger than the checkpoint size\n"
        with self._lock:
            size, root = self.latest.get(origin, (0, b""))
            if old != size:
                return 409, "text/x.tlog.size", f"{size}\n"
            if old == 0:
                if proof:
                    return 400, "text/plain", "old size 0 needs an empty proof\n"
            elif old == checkpoint.size:
                if proof or root != checkpoint.root:
                    return 409, "text/x.tlog.size", f"{size}\n"
            else:
                try:
                    verify_consistency(old, checkpoint.size, proof, root, checkpoint.root)
                except ProofError as error:
                    return 422, "text/plain", f"consistency proof: {error}\n"
            self.latest[origin] = (checkpoint.size, checkpoint.root)
        signer = CosignatureV1Signer(self.name, self._key, int(time.time()))
        signature = signer.sign(opened.text.encode())
        return 200, "text/plain; charset=utf-8", NoteSignature(self.name, signer.key_id, signature).line

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                if self.path.rstrip("/") != "/add-checkpoint":
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, content_type, reply = witness.add_checkpoint(body)
                witness.requests.append(status)
                data = reply.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:  # keep test output clean
                pass

        return Handler
