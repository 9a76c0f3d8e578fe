"""The work of `drledger sample`, without click: read, check, hash, order, write.

`ledger.cli.sample` is the click command; `console` runs the same work for
the console script when the arguments are plain (`--seed S --ids F --n N
[--drop K] [--tickets]`, each once), so that such a run does not import click
(about 40 ms of a 0.4 s run on a million IDs). Anything else (--help, a usage
error, an unusual spelling) is left to click.

For a large file the work is split between this process and one forked
child, which take about half of the lines each (hashlib releases the GIL
only for inputs of 2047 bytes or more: threads would hash one at a time).
The child is forked right after the file is read and splits its own part of
the raw bytes, so that it touches no Python object of the parent (touching
them would copy the parent's memory page by page).  Each process checks its
own part for blank lines and duplicates and hashes it; any refusal is then
worded by the same whole-input checks as without a child.

Two paths give the same output (tests/test_sample_cli.py runs both):

* the reference, ledger.draw.sampler: the parent splits the whole input,
  checks its part with a set and looks the child's lines up in it;
* from 300 000 IDs, with numpy (ledger.draw.fastscan): each process splits
  and hashes its part a chunk at a time, keeping only the members' lines,
  and the digests' last 8 bytes, sorted in each process and merged here,
  find any duplicate.  DRLEDGER_SAMPLER=pure keeps the reference path.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from itertools import islice
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

if TYPE_CHECKING:
    from ledger.draw.sampler import Scan

# Below this many IDs hashing takes a few tens of ms: not worth a second process.
_PARALLEL_MIN_IDS = 100_000
# The child's share of the IDs (balanced by measuring both processes' CPU time
# on 1M IDs). Without numpy the parent also splits the child's part and looks
# its lines up in its own set, so it takes the smaller part; with numpy each
# process splits only its own part, and the child, which also packs and sends
# its answer, takes a little less.
_CHILD_SHARE = 0.55
_CHILD_SHARE_NUMPY = 0.48
# The numpy path splits and hashes a part this many bytes at a time (about
# 13 000 lines of 18-character IDs): the same memory serves every chunk (a
# chunk's lines fit in the one empty arena that pymalloc keeps; 1 MB chunks
# made 60% more page faults for the same CPU time).
_CHUNK_BYTES = 1 << 18
# From this many IDs the per-ID arithmetic and the duplicate check run on numpy
# arrays (ledger.draw.fastscan): importing numpy costs 0.06-0.1 s.
_FAST_MIN_IDS = 300_000
# Line numbers named in one error message; the rest are counted.
_MAX_LINES_SHOWN = 10


class InputError(Exception):
    """A refused input: one line on stderr ("Error: ..."), exit status 2, no traceback."""

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
    ledger.cli.sampling.InputError: line 2: not valid UTF-8 (byte 3 of the input)
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


def _pure_part(prefix: bytes, lines: list[bytes], limit: int, checked: bool = False) -> tuple[bytes, Scan]:
    """(evidence, scan) of one part of the lines without numpy. Evidence: one
    byte, 1 if the part's lines are distinct (`checked`: already known to be)."""
    from ledger.draw.sampler import scan

    return bytes([checked or len(set(lines)) == len(lines)]), scan(prefix, lines, limit)


class _Part(NamedTuple):
    """What the numpy path knows of the lines data[start:stop] (see `_numpy_part`)."""

    # About duplicates. numpy: the digests' sorted words (fastscan.has_repeats over
    # all parts); the reference path: one byte, 1 if the part's lines are distinct.
    evidence: bytes
    scan: Scan
    blank: bool  # whether a line is blank
    members: list[bytes]  # the lines of scan.members, in that order


def _numpy_part(fast: ModuleType, prefix: bytes, data: bytes, start: int, stop: int, limit: int) -> _Part:
    """The lines of data[start:stop] (whole lines), split, hashed and scanned
    a chunk at a time, so that memory is reused: only the members' lines are
    kept."""
    from ledger.draw.sampler import join_scans

    words, scans, members, blank = [], [], [], False
    at = start
    while at < stop:
        end = data.find(b"\n", at + _CHUNK_BYTES, stop) + 1 or stop  # after a line end, or the end
        lines = lines_of(data[at:end])
        blank = blank or b"" in lines
        hashed = fast.digests(prefix, lines)
        words.append(fast.words(hashed))
        scanned = fast.scan_digests(hashed, limit)
        scans.append(scanned)
        members.extend([lines[i] for i in scanned.members])
        at = end
    if not scans:
        scans.append(fast.scan_digests(b"", limit))
    return _Part(fast.sort_words(words), join_scans(scans), blank, members)


def _child_work(data: bytes, cut: int, fast: ModuleType | None, prefix: bytes, limit: int) -> bytes:
    """In the child: its lines' evidence about duplicates, scan, whether one is
    blank and, with numpy, the members' lines (see `_child_answer`)."""
    if fast is not None:
        part = _numpy_part(fast, prefix, data, cut, len(data), limit)
        return _pack([part.evidence, part.scan.to_bytes(), bytes([part.blank]), b"\n".join(part.members)])
    lines = lines_of(data[cut:])
    evidence, scanned = _pure_part(prefix, lines, limit)
    return _pack([evidence, scanned.to_bytes(), bytes([b"" in lines]), b""])


def _pack(parts: list[bytes]) -> bytes:
    return b"".join(len(part).to_bytes(8, "little") + part for part in parts)


def _unpack(sent: bytes | None, count: int) -> list[bytes] | None:
    """The `count` parts `_pack` joined, or None if `sent` is not exactly that."""
    parts, at = [], 0
    for _ in range(count):
        if sent is None or len(sent) < at + 8:
            return None
        size = int.from_bytes(sent[at:at + 8], "little")
        parts.append(sent[at + 8:at + 8 + size])
        at += 8 + size
    return parts if sent is not None and at == len(sent) else None


def _child_answer(sent: bytes | None, fast: bool = False) -> _Part | None:
    """The child's answer, or None for a failed or garbled one."""
    parts = _unpack(sent, 4)
    scanned = None if parts is None else _scan_from(parts[1])
    if parts is None or scanned is None or parts[2] not in (b"\x00", b"\x01"):
        return None
    members: list[bytes] = []
    if fast:
        members = parts[3].split(b"\n") if scanned.members else []
        if len(members) != len(scanned.members):
            return None
    return _Part(parts[0], scanned, parts[2] == b"\x01", members)


class _Lines(Sequence[bytes]):
    """All the lines, of which only the members are at hand: the whole input is
    split only if another line is asked for (a draw beyond the first bands)."""

    def __init__(self, data: bytes, total: int, members: dict[int, bytes]) -> None:
        self.data, self.total, self.members = data, total, members  # members: line index -> line
        self.all: list[bytes] | None = None

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int) -> bytes:  # type: ignore[override] - integers only
        if not 0 <= index < self.total:
            raise IndexError(index)
        if self.all is None:
            found = self.members.get(index)
            if found is not None:
                return found
            self.all = lines_of(self.data)
        return self.all[index]

    def pick(self, indices: list[int]) -> list[bytes]:
        """[self[i] for i in indices], without a method call per line when all are members."""
        if self.all is None and all(map(self.members.__contains__, indices)):
            return list(map(self.members.__getitem__, indices))
        return [self[i] for i in indices]


def _scan_ids(data: bytes, prefix: bytes, limit: int) -> tuple[Sequence[bytes], Scan, ModuleType | None]:
    """Checked lines, their scan, and fastscan if it made the scan; the second
    part of ``data`` checked and scanned in a child."""
    expected = data.count(b"\n") + (not data.endswith(b"\n") and len(data) > 0)
    fast = _fast_scan(expected)
    child = None
    # Cut just after a line end, so that both parts are whole lines.
    share = _CHILD_SHARE if fast is None else _CHILD_SHARE_NUMPY
    cut = data.find(b"\n", int(len(data) * (1 - share))) + 1
    if expected >= _PARALLEL_MIN_IDS and cut > 0 and _cores() >= 2 and hasattr(os, "fork"):
        try:
            child = _Child(lambda: _child_work(data, cut, fast, prefix, limit))
        except OSError:  # no process to spare: one process does it all
            child = None
    try:
        refuse_bad_text(data)  # here, so that it overlaps the child's work
        if fast is not None:
            return _numpy_scan(data, expected, cut, child, fast, prefix, limit)
        lines = lines_of(data)
        refuse_blank_lines(lines)
        if child is None:
            evidence, scanned = _pure_part(prefix, lines, limit)
            if _may_repeat(None, [evidence]):
                refuse_duplicates(lines)  # words the refusal
            return lines, scanned, None
        return _pure_with_child(data, cut, lines, child, prefix, limit)
    finally:
        if child is not None:
            child.stop()


def _pure_with_child(data: bytes, cut: int, lines: list[bytes], child: _Child, prefix: bytes,
                     limit: int) -> tuple[list[bytes], Scan, None]:
    from ledger.draw.sampler import join_scans

    head = data.count(b"\n", 0, cut)
    # The child checks its own lines; here, this part's and that none of the child's is one of them.
    own = set(islice(lines, head))
    if len(own) != head or not own.isdisjoint(islice(lines, head, None)):
        refuse_duplicates(lines)
    del own  # freed while the child works
    own_scan = _pure_part(prefix, lines[:head], limit, checked=True)[1]
    answer = _child_answer(child.result())
    if answer is None or head + len(answer.scan.residues) != len(lines):
        # The child failed: its part is checked and scanned here.
        evidence, rest = _pure_part(prefix, lines[head:], limit)
    else:
        evidence, rest = answer.evidence, answer.scan
    if _may_repeat(None, [evidence]):
        refuse_duplicates(lines)
    return lines, join_scans([own_scan, rest]), None


def _numpy_scan(data: bytes, expected: int, cut: int, child: _Child | None, fast: ModuleType, prefix: bytes,
                limit: int) -> tuple[Sequence[bytes], Scan, ModuleType]:
    """With numpy: each process splits and hashes its own part a chunk at a
    time and keeps only the members' lines; the whole input is split here only
    to word a refusal, or for a draw beyond the first bands."""
    from ledger.draw.sampler import join_scans

    parts = [_numpy_part(fast, prefix, data, 0, cut if child is not None else len(data), limit)]
    if child is not None:
        answer = _child_answer(child.result(), fast=True)
        if answer is None or len(parts[0].scan.residues) + len(answer.scan.residues) != expected:
            answer = _numpy_part(fast, prefix, data, cut, len(data), limit)  # the child failed: done here
        parts.append(answer)
    if any(part.blank for part in parts):
        refuse_blank_lines(lines_of(data))  # words the refusal
    if _may_repeat(fast, [part.evidence for part in parts]):
        refuse_duplicates(lines_of(data))
    members: dict[int, bytes] = {}
    offset = 0
    for part in parts:
        members.update(zip([offset + i for i in part.scan.members], part.members))
        offset += len(part.scan.residues)
    return _Lines(data, expected, members), join_scans([part.scan for part in parts]), fast


def _may_repeat(fast: ModuleType | None, evidence: list[bytes]) -> bool:
    """Whether the parts' evidence allows a duplicate ID (then `refuse_duplicates` decides).

    Without numpy the parent has checked that no line of its part repeats
    anywhere (see `_scan_ids`), so only the other parts' own bytes count."""
    if fast is not None:
        return bool(fast.has_repeats(evidence))
    return any(part != b"\x01" for part in evidence)


def _scan_from(sent: bytes | None) -> Scan | None:
    from ledger.draw.sampler import Scan

    try:
        return None if sent is None else Scan.from_bytes(sent)
    except ValueError:
        return None


def _write_draws(out: BinaryIO, prefix: bytes, lines: Sequence[bytes], order: list[int],
                 tickets: bool) -> None:
    drawn = lines.pick(order) if isinstance(lines, _Lines) else [lines[i] for i in order]
    if tickets:
        from ledger.draw.sampler import utf8_ticket

        rows = [utf8_ticket(prefix, line).encode("ascii") + b"\t" + line for line in drawn]
    else:
        rows = drawn
    if rows:
        out.write(b"\n".join(rows) + b"\n")
    out.flush()


def run(seed: str, ids_path: str, n: int, drop: int, tickets: bool) -> None:
    """Draw and print (see the command's help); InputError for a refused input."""
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


_VALUE_OPTIONS = {"--seed": "seed", "--ids": "ids_path", "--n": "n", "--drop": "drop"}


def plain_arguments(args: list[str]) -> dict[str, str | int | bool] | None:
    """The command's arguments if they are plain, else None (then click parses them).

    Plain: each option once, as its own word followed by its value, --n and
    --drop in ASCII digits, no value starting with "-" but the --ids "-".
    Click reads such arguments exactly so.

    >>> plain_arguments(["--n", "5", "--seed", "41", "--ids", "-", "--tickets"])
    {'n': 5, 'seed': '41', 'ids_path': '-', 'tickets': True, 'drop': 0}
    >>> plain_arguments(["--seed", "41", "--ids", "-", "--n=5"]) is None
    True
    """
    found: dict[str, str | int | bool] = {}
    at = 0
    while at < len(args):
        word = args[at]
        if word == "--tickets" and "tickets" not in found:
            found["tickets"] = True
            at += 1
            continue
        name = _VALUE_OPTIONS.get(word)
        if name is None or name in found or at + 1 >= len(args):
            return None
        value = args[at + 1]
        if value.startswith("-") and not (name == "ids_path" and value == "-"):
            return None
        if name in ("n", "drop"):
            if not (value.isascii() and value.isdigit()):
                return None
            found[name] = int(value)
        else:
            found[name] = value
        at += 2
    if not {"seed", "ids_path", "n"} <= found.keys():
        return None
    found.setdefault("tickets", False)
    found.setdefault("drop", 0)
    return found


def console(args: list[str]) -> None:
    """`drledger sample ARGS` for the console script, without click, if ARGS
    are plain; returns (having done nothing) if they are not.

    Ends the process: exit status 0; 2 with "Error: ..." on stderr for a
    refused input; 1 with "Aborted!" if interrupted, as click would."""
    found = plain_arguments(args)
    if found is None:
        return
    try:
        run(**found)  # type: ignore[arg-type]
        sys.stdout.flush()
    except InputError as refused:
        sys.stderr.write(f"Error: {refused}\n")
        sys.exit(refused.exit_code)
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    sys.stderr.flush()
    os._exit(0)  # without freeing the lines one by one (tens of ms for a million)
