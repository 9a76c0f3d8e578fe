"""`drledger sample`: Rivest's consistent sampler over IDs read from a file.

Only click is imported at module level; the sampler is imported inside the
command so that `drledger sample --help` stays instant.

For a large file the work is split between this process and one forked
child, which take about half of the lines each.  The child is forked right
after the file is read and splits its own part of the raw bytes, so that it
touches no Python object of the parent (touching them would copy the
parent's memory page by page).  Each process checks its own part for
duplicates and hashes it; the parent also checks the whole input's text and
blank lines, and that no line of the child's part is one of its own.  Any
refusal is then worded by the same whole-input checks as without a child.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from itertools import islice
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO

import click

if TYPE_CHECKING:
    from ledger.draw.sampler import Scan

# Below this many IDs hashing takes a few tens of ms: not worth a second process.
_PARALLEL_MIN_IDS = 100_000
# The child's share of the IDs: the parent also splits and checks the whole
# text and looks the child's lines up in its own set, so it takes the smaller
# part (balanced by measuring both processes' CPU time on 1M IDs).
_CHILD_SHARE = 0.55
# From this many IDs the per-ID arithmetic and the duplicate check run on numpy
# arrays (ledger.draw.fastscan): importing numpy costs about 0.1 s.
_FAST_MIN_IDS = 300_000
# Line numbers named in one error message; the rest are counted.
_MAX_LINES_SHOWN = 10


class InputError(click.ClickException):
    """A refused input: one line on stderr, exit status 2, no traceback."""

    exit_code = 2


def _shown(items: list[str]) -> str:
    more = len(items) - _MAX_LINES_SHOWN
    return ", ".join(items[:_MAX_LINES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def refuse_bad_text(data: bytes) -> None:
    """Refuse bytes that are not UTF-8 text or that start with a byte order mark.

    >>> refuse_bad_text("甲\\n乙".encode())
    >>> refuse_bad_text(b"a\\n\\xff\\n")
    Traceback (most recent call last):
    ...
    ledger.cli.sample.InputError: line 2: not valid UTF-8 (byte 3 of the input)
    """
    if data.isascii():  # valid UTF-8, and no byte order mark (nothing decoded: no copy)
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"line {line}: not valid UTF-8 (byte {exc.start + 1} of the input)") from None
    if data.startswith(b"\xef\xbb\xbf"):
        # A byte order mark would silently become part of the first ID.
        raise InputError("line 1: starts with a UTF-8 byte order mark (U+FEFF); remove it")


def lines_of(data: bytes) -> list[bytes]:
    """The lines of ``data`` without their ``\\n`` or ``\\r\\n``; nothing else is stripped.

    Every other byte is part of the ID, because it is part of what is hashed.

    >>> lines_of(b"a\\r\\nb \\nc")
    [b'a', b'b ', b'c']
    >>> lines_of(b"")
    []
    """
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # after the final line end, or an empty input
    if b"\r" in data:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    return lines


def refuse_blank_lines(lines: list[bytes]) -> None:
    if b"" in lines:
        blank = [str(number) for number, line in enumerate(lines, 1) if not line]
        raise InputError(f"blank line at line {_shown(blank)}: every line must be one ID")


def refuse_duplicates(lines: list[bytes]) -> None:
    if len(set(lines)) == len(lines):
        return
    first_seen: dict[bytes, int] = {}
    repeats: list[str] = []
    for number, line in enumerate(lines, 1):
        if line in first_seen:
            repeats.append(f"{number} (same as line {first_seen[line]})")
        else:
            first_seen[line] = number
    raise InputError(f"duplicate ID at line {_shown(repeats)}: IDs must be distinct")


def _read_all(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read --ids {path!r}: {exc.strerror}") from None


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _Child:
    """``work()`` computed in a forked child; ``result()`` is None if it failed."""

    def __init__(self, work: Callable[[], bytes]) -> None:
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # child: compute, send, leave without the parent's cleanups
            status = 1
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as out:
                    out.write(work())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self.incoming = os.fdopen(read_end, "rb")

    def result(self) -> bytes | None:
        data = self.incoming.read()
        self.incoming.close()
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return data if status == 0 else None

    def stop(self) -> None:
        """Used when the parent refuses the input: end the child, reap it."""
        if self.pid:
            self.incoming.close()
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


def _fast_scan(expected: int) -> ModuleType | None:
    """ledger.draw.fastscan (numpy) for a large input, unless DRLEDGER_SAMPLER=pure or
    numpy is missing; None: the reference path (ledger.draw.sampler) does it all."""
    if expected < _FAST_MIN_IDS or os.environ.get("DRLEDGER_SAMPLER") == "pure":
        return None
    # No BLAS is used: one thread, so that importing numpy starts no thread pool.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        from ledger.draw import fastscan
    except ImportError:
        return None
    return fastscan


def _check_part(fast: ModuleType | None, prefix: bytes, lines: list[bytes], limit: int,
                checked: bool = False) -> tuple[bytes, Scan]:
    """(evidence about duplicates, scan) of one part of the lines.

    Evidence: with numpy, the part's sorted digest words (fastscan.has_repeats
    over all parts finds every duplicate); without, one byte: 1 if the part's
    lines are distinct (`checked`: already known to be)."""
    if fast is not None:
        hashed = fast.digests(prefix, lines)
        return fast.sorted_words(hashed), fast.scan_digests(hashed, limit)
    from ledger.draw.sampler import scan

    return bytes([checked or len(set(lines)) == len(lines)]), scan(prefix, lines, limit)


def _child_work(data: bytes, cut: int, fast: ModuleType | None, prefix: bytes, limit: int) -> bytes:
    """In the child: its lines' evidence and scan (see `_child_answer`)."""
    evidence, scanned = _check_part(fast, prefix, lines_of(data[cut:]), limit)
    return len(evidence).to_bytes(8, "little") + evidence + scanned.to_bytes()


def _scan_ids(data: bytes, prefix: bytes, limit: int) -> tuple[list[bytes], Scan, ModuleType | None]:
    """Checked lines, their scan, and fastscan if it made the scan; the second
    part of ``data`` checked and scanned in a child."""
    from ledger.draw.sampler import join_scans

    expected = data.count(b"\n") + (not data.endswith(b"\n") and len(data) > 0)
    fast = _fast_scan(expected)
    child = None
    # Cut just after a line end, so that both parts are whole lines.
    cut = data.find(b"\n", int(len(data) * (1 - _CHILD_SHARE))) + 1
    if expected >= _PARALLEL_MIN_IDS and cut > 0 and _cores() >= 2 and hasattr(os, "fork"):
        try:
            child = _Child(lambda: _child_work(data, cut, fast, prefix, limit))
        except OSError:  # no process to spare: one process does it all
            child = None
    try:
        refuse_bad_text(data)  # here, so that it overlaps the child's work
        lines = lines_of(data)
        refuse_blank_lines(lines)
        if child is None:
            evidence, scanned = _check_part(fast, prefix, lines, limit)
            if _may_repeat(fast, [evidence]):
                refuse_duplicates(lines)  # words the refusal
            return lines, scanned, fast
        head = data.count(b"\n", 0, cut)
        if fast is None:
            # The child checks its own lines; here, this part's and that none of the child's is one of them.
            own = set(islice(lines, head))
            if len(own) != head or not own.isdisjoint(islice(lines, head, None)):
                refuse_duplicates(lines)
            del own  # freed while the child works
        own_evidence, own_scan = _check_part(fast, prefix, lines[:head], limit, checked=True)
        answer = _child_answer(child.result())
        if answer is None or head + len(answer[1].residues) != len(lines):
            # The child failed: its part is checked and scanned here.
            answer = _check_part(fast, prefix, lines[head:], limit)
        evidence, rest = answer
        if _may_repeat(fast, [own_evidence, evidence]):
            refuse_duplicates(lines)
        return lines, join_scans([own_scan, rest]), fast
    finally:
        if child is not None:
            child.stop()


def _may_repeat(fast: ModuleType | None, evidence: list[bytes]) -> bool:
    """Whether the parts' evidence allows a duplicate ID (then `refuse_duplicates` decides).

    Without numpy the parent has checked that no line of its part repeats
    anywhere (see `_scan_ids`), so only the other parts' own bytes count."""
    if fast is not None:
        return bool(fast.has_repeats(evidence))
    return any(part != b"\x01" for part in evidence)


def _child_answer(sent: bytes | None) -> tuple[bytes, Scan] | None:
    """(evidence, scan) from the child, or None for a failed or garbled answer."""
    if sent is None or len(sent) < 8:
        return None
    size = int.from_bytes(sent[:8], "little")
    scanned = _scan_from(sent[8 + size:])
    return None if scanned is None or len(sent) < 8 + size else (sent[8:8 + size], scanned)


def _scan_from(sent: bytes | None) -> Scan | None:
    from ledger.draw.sampler import Scan

    try:
        return None if sent is None else Scan.from_bytes(sent)
    except ValueError:
        return None


def _write_draws(out: BinaryIO, prefix: bytes, lines: list[bytes], order: list[int],
                 tickets: bool) -> None:
    if tickets:
        from ledger.draw.sampler import utf8_ticket

        rows = [utf8_ticket(prefix, lines[i]).encode("ascii") + b"\t" + lines[i] for i in order]
    else:
        rows = [lines[i] for i in order]
    if rows:
        out.write(b"\n".join(rows) + b"\n")
    out.flush()


EPILOG = """\b
Examples:
  drledger sample --seed 41 --ids firms.txt --n 5
  seq 0 99 | drledger sample --seed 41 --ids - --n 5 --drop 5
      (prints 42 39 20 11 67, one per line: the reference's Example 5)
  drledger sample --seed 31 --ids firms.txt --n 3 --tickets
"""


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--seed", required=True, help="Seed text, used exactly as given (UTF-8).")
@click.option("--ids", "ids_path", required=True, metavar="FILE",
              help="UTF-8 file with one ID per line, or - for standard input.")
@click.option("--n", "n", required=True, type=click.IntRange(min=0),
              help="How many IDs to draw (after the dropped ones).")
@click.option("--drop", default=0, show_default=True, type=click.IntRange(min=0),
              help="Skip this many draws first (to extend an earlier sample).")
@click.option("--tickets", is_flag=True,
              help="Print 'ticket<TAB>id' with the full reference ticket.")
def sample(seed: str, ids_path: str, n: int, drop: int, tickets: bool) -> None:
    """Draw IDs with Rivest's consistent sampler (SHA-256, without replacement).

    Prints the drawn IDs one per line in draw order, identical to
    ron-rivest/consistent_sampler (the sampler Arlo uses). Only the line end
    (\\n or \\r\\n) is removed from each line. A blank line, a duplicate ID
    or invalid UTF-8 is refused with its line number (exit status 2).
    The spec, to reimplement it: docs/sampler.md.
    """
    from ledger.draw.sampler import first_band_limit, sample_utf8, seed_prefix

    data = _read_all(ids_path)
    expected = data.count(b"\n") + 1
    prefix = seed_prefix(seed)
    lines, scanned, fast = _scan_ids(data, prefix, first_band_limit(min(drop + n, expected), expected))
    if drop + n > len(lines):
        what = f"--n {n}" if drop == 0 else f"--drop {drop} plus --n {n}"
        raise InputError(f"{what} is more than the {len(lines)} IDs in {ids_path!r}")
    if fast is not None:
        order = list(islice(fast.draw_indices(prefix, lines, scanned), drop, drop + n))
    else:
        order = sample_utf8(seed, lines, n, drop, scanned=scanned)
    try:
        _write_draws(sys.stdout.buffer, prefix, lines, order, tickets)
    except BrokenPipeError:
        # A reader such as `head` stopped early: not our error; keep exit quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
