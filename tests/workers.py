"""Run a test worker module as a subprocess and talk to it line by line.

Workers say what they are doing on stdout (`inside 0 3 20000`) and wait for
words on stdin; the test steers them with `expect` and `send`. Every wait has
a timeout, so a worker that never reaches a point fails the test instead of
hanging it.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ledger.store.config import StoreConfig

ROOT = Path(__file__).resolve().parents[1]


def store_args(store: StoreConfig) -> list[str]:
    """STORE_URL HOME, as the workers take them ("-" for the home's SQLite file)."""
    return ["-" if store.kind == "sqlite" else store.display, str(store.home)]


class Worker:
    def __init__(self, module: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, text=True, bufsize=1,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.extend(self.process.stderr)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def expect(self, word: str, timeout: float = 120) -> list[str]:
        """The next line, which must start with `word`; returns the words after it."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"worker said nothing for {timeout}s while we waited for {word!r}") from None
        if line is None:
            self.process.wait(timeout=30)
            raise AssertionError(f"worker ended ({self.process.returncode}) before saying {word!r}:\n{self.stderr}")
        words = line.split()
        assert words[:1] == [word], f"expected {word!r} from the worker, got {line!r}"
        return words[1:]

    def send(self, word: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(word + "\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 300) -> None:
        """Wait for a clean exit."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=timeout)
        assert self.process.returncode == 0, self.stderr

    def kill(self) -> int:
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=60)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:  # a failed test: do not leave the worker behind
            self.kill()
