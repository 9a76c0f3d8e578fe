"""`drledger sample` run as a real process: good input and every refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.draw.sampler import reference_ticket, sample
from tests.conftest import VECTORS as VECTORS_DIR

VECTORS = VECTORS_DIR / "draw" / "rivest_consistent_sampler.json"


def drledger() -> str:
    """The console script installed beside this Python, never one found on PATH."""
    beside_python = Path(sys.executable).parent / "drledger"
    assert beside_python.exists(), f"the drledger console script is not installed beside {sys.executable}"
    return str(beside_python)


def run(*args: str, stdin: bytes = b"", sampler: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """`drledger sample ARGS`; sampler="pure" keeps numpy out (DRLEDGER_SAMPLER)."""
    env = {k: v for k, v in os.environ.items() if k != "DRLEDGER_SAMPLER"}
    if sampler is not None:
        env["DRLEDGER_SAMPLER"] = sampler
    return subprocess.run([drledger(), "sample", *args], input=stdin, capture_output=True,
                          timeout=120, env=env)


# Above the size from which the command hashes in two processes and, unless told
# otherwise, checks and orders with numpy (ledger.cli.sampling._FAST_MIN_IDS).
FAST_SIZE = 310_000


def write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "ids.txt"
    path.write_bytes(data)
    return str(path)


def assert_refused(result: subprocess.CompletedProcess[bytes], *needles: str) -> None:
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert result.stdout == b""
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


@pytest.mark.parametrize("vector", json.loads(VECTORS.read_text("utf-8"))["vectors"],
                         ids=lambda v: v["desc"])
def test_public_vectors_through_the_command(tmp_path: Path, vector: dict) -> None:
    ids = write(tmp_path, "".join(i + "\n" for i in vector["ids"]).encode())
    n = len(vector["ids"]) - vector["drop"] if vector["take"] is None else vector["take"]
    result = run("--seed", vector["seed"], "--ids", ids, "--n", str(n), "--drop", str(vector["drop"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == vector["expected_ids"]


def test_stdin_crlf_and_missing_final_newline_give_the_same_draw(tmp_path: Path) -> None:
    ids = [str(k) for k in range(100)]
    expected = b"42\n39\n20\n11\n67\n"
    lf = run("--seed", "41", "--ids", "-", "--n", "5", "--drop", "5",
             stdin="\n".join(ids).encode() + b"\n")
    crlf = run("--seed", "41", "--ids", write(tmp_path, "\r\n".join(ids).encode()),
               "--n", "5", "--drop", "5")
    assert (lf.returncode, lf.stdout) == (0, expected)
    assert (crlf.returncode, crlf.stdout) == (0, expected)


def test_tickets_are_full_reference_tickets_tab_id() -> None:
    ids = ["甲-1", "乙-2", "丙-3", "a b"]
    result = run("--seed", "种子", "--ids", "-", "--n", "4", "--tickets",
                 stdin="\n".join(ids).encode())
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
    assert [id for _, id in rows] == sample("种子", ids)
    assert all(ticket == reference_ticket("种子", id) for ticket, id in rows)


def test_other_whitespace_is_part_of_the_id() -> None:
    result = run("--seed", "s", "--ids", "-", "--n", "2", stdin=b" a\na \n")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split(b"\n")[:-1]) == [b" a", b"a "]
    assert result.stdout.decode().splitlines() == sample("s", [" a", "a "])


def test_zero_draws_print_nothing() -> None:
    result = run("--seed", "s", "--ids", "-", "--n", "0", stdin=b"a\n")
    assert (result.returncode, result.stdout) == (0, b"")


def test_large_input_uses_the_parallel_path_and_matches_the_library(tmp_path: Path) -> None:
    # 150 000 IDs is above the size at which the command forks a second process.
    ids = [f"91360502{k:09d}{k % 7}" for k in range(150_000)]
    path = write(tmp_path, ("\n".join(ids) + "\n").encode())
    result = run("--seed", "parallel", "--ids", path, "--n", "1000", "--drop", "17")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == sample("parallel", ids, n=1000, drop=17)


def test_numpy_and_pure_paths_print_the_same_draw(tmp_path: Path) -> None:
    ids = [f"91360502{k:09d}{k % 7}" for k in range(FAST_SIZE)]
    path = write(tmp_path, ("\n".join(ids) + "\n").encode())
    args = ("--seed", "both paths", "--ids", path, "--n", "3000", "--drop", "5")
    fast, pure = run(*args), run(*args, sampler="pure")
    assert fast.returncode == 0 and pure.returncode == 0, (fast.stderr, pure.stderr)
    assert fast.stdout == pure.stdout
    assert fast.stdout.decode().splitlines() == sample("both paths", ids, n=3000, drop=5)


@pytest.mark.parametrize("sampler", [None, "pure"])
@pytest.mark.parametrize(("first", "second"), [(10, 20), (1000, FAST_SIZE - 5), (FAST_SIZE - 900, FAST_SIZE - 2)],
                         ids=["parent's part", "across parts", "child's part"])
def test_duplicates_in_a_very_large_input_are_refused(tmp_path: Path, sampler: str | None, first: int,
                                                      second: int) -> None:
    ids = [f"ID-{k}" for k in range(FAST_SIZE)]
    ids[second] = ids[first]
    ids[second + 1] = ids[second]  # and a third one, next to it
    result = run("--seed", "s", "--ids", write(tmp_path, "\n".join(ids).encode()), "--n", "1", sampler=sampler)
    assert_refused(result, f"line {second + 1} (same as line {first + 1}), {second + 2} (same as line {first + 1})")


def test_a_blank_line_is_named_before_duplicates_on_the_numpy_path(tmp_path: Path) -> None:
    ids = [f"ID-{k}" for k in range(FAST_SIZE)]
    ids[5] = ids[4]
    ids[FAST_SIZE - 10] = ""
    result = run("--seed", "s", "--ids", write(tmp_path, "\n".join(ids).encode()), "--n", "1")
    assert_refused(result, f"blank line at line {FAST_SIZE - 9}")


def test_blank_lines_are_refused_with_their_numbers() -> None:
    result = run("--seed", "s", "--ids", "-", "--n", "1", stdin=b"a\n\nb\r\n\r\nc\n")
    assert_refused(result, "blank line", "line 2, 4")


def test_a_blank_last_line_is_refused() -> None:
    assert_refused(run("--seed", "s", "--ids", "-", "--n", "1", stdin=b"a\nb\n\n"), "line 3")


def test_duplicates_are_refused_with_their_numbers() -> None:
    result = run("--seed", "s", "--ids", "-", "--n", "1", stdin=b"a\nb\na\nc\nb\n")
    assert_refused(result, "duplicate ID", "line 3 (same as line 1), 5 (same as line 2)")


def test_duplicates_in_a_large_input_are_refused(tmp_path: Path) -> None:
    # Large enough for the parallel path: the child must not hide the refusal.
    ids = [f"ID-{k}" for k in range(120_000)] + ["ID-7"]
    result = run("--seed", "s", "--ids", write(tmp_path, "\n".join(ids).encode()), "--n", "1")
    assert_refused(result, "line 120001 (same as line 8)")


@pytest.mark.parametrize("where", ["parent's part", "child's part"])
def test_duplicates_inside_one_part_of_a_large_input_are_refused(tmp_path: Path, where: str) -> None:
    # Each process checks its own part; the refusal is worded on the whole input.
    ids = [f"ID-{k}" for k in range(120_000)]
    first, second = (10, 20) if where == "parent's part" else (110_000, 119_000)
    ids[second] = ids[first]
    result = run("--seed", "s", "--ids", write(tmp_path, "\n".join(ids).encode()), "--n", "1")
    assert_refused(result, f"line {second + 1} (same as line {first + 1})")


def test_a_blank_line_is_named_before_duplicates_in_a_large_input(tmp_path: Path) -> None:
    ids = [f"ID-{k}" for k in range(120_000)]
    ids[5] = ids[4]
    ids[115_000] = ""
    result = run("--seed", "s", "--ids", write(tmp_path, "\n".join(ids).encode()), "--n", "1")
    assert_refused(result, "blank line at line 115001")


def test_many_problems_are_counted_not_all_listed() -> None:
    result = run("--seed", "s", "--ids", "-", "--n", "1", stdin=b"a\n" + b"\n" * 25 + b"b\n")
    assert_refused(result, "and 15 more")


def test_n_larger_than_the_ids_is_refused() -> None:
    assert_refused(run("--seed", "s", "--ids", "-", "--n", "4", stdin=b"a\nb\nc\n"),
                   "--n 4 is more than the 3 IDs")
    assert_refused(run("--seed", "s", "--ids", "-", "--n", "2", "--drop", "2", stdin=b"a\nb\nc\n"),
                   "--drop 2 plus --n 2 is more than the 3 IDs")


def test_invalid_utf8_is_refused_with_its_line() -> None:
    assert_refused(run("--seed", "s", "--ids", "-", "--n", "1", stdin=b"a\nb\xff\n"),
                   "line 2", "UTF-8")


def test_a_byte_order_mark_is_refused() -> None:
    assert_refused(run("--seed", "s", "--ids", "-", "--n", "1", stdin=b"\xef\xbb\xbfa\nb\n"),
                   "byte order mark")


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    assert_refused(run("--seed", "s", "--ids", str(tmp_path / "missing.txt"), "--n", "1"),
                   "cannot read --ids")


def test_negative_n_is_a_usage_error() -> None:
    result = run("--seed", "s", "--ids", "-", "--n", "-1", stdin=b"a\n")
    assert result.returncode == 2 and "Traceback" not in result.stderr.decode()


def test_help_shows_an_example() -> None:
    result = subprocess.run([drledger(), "sample", "--help"], capture_output=True, timeout=60)
    assert result.returncode == 0
    assert b"drledger sample --seed 41 --ids" in result.stdout


def test_the_command_does_not_import_heavy_modules_for_help() -> None:
    code = ("import sys; from ledger.cli.main import cli; "
            "cli(['sample', '--help'], standalone_mode=False); "
            "print(sorted(m for m in sys.modules if m.startswith('ledger.draw')))")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip().splitlines()[-1] == "[]"


def test_a_garbled_answer_from_the_child_is_not_trusted() -> None:
    # The parent then scans the child's part itself (see ledger.cli.sampling._scan_ids).
    from ledger.cli.sampling import _scan_from
    from ledger.draw.sampler import scan, seed_prefix

    good = scan(seed_prefix("s"), [b"a", b"b"], 9000)
    assert _scan_from(good.to_bytes()) == good
    assert _scan_from(good.to_bytes()[:-1]) is None
    assert _scan_from(None) is None


def test_a_garbled_or_missing_child_answer_is_not_trusted() -> None:
    from ledger.cli.sampling import _child_answer, _pack
    from ledger.draw.sampler import scan, seed_prefix

    good = scan(seed_prefix("s"), [b"a", b"b", b"c"], 10_000)  # every ID is a member
    lines = b"\n".join([b"a", b"b", b"c"][i] for i in good.members)
    sent = _pack([b"words", good.to_bytes(), b"\x00", lines])
    answer = _child_answer(sent, fast=True)
    assert answer is not None and (answer.evidence, answer.scan, answer.blank) == (b"words", good, False)
    assert dict(zip(good.members, answer.members)) == {0: b"a", 1: b"b", 2: b"c"}
    assert _child_answer(sent[:-1], fast=True) is None  # cut short
    assert _child_answer(sent + b"x", fast=True) is None  # too long
    assert _child_answer(_pack([b"words", good.to_bytes(), b"\x02", lines])) is None  # not a flag
    assert _child_answer(_pack([b"words", good.to_bytes(), b"\x00", b"a\nb"]), fast=True) is None  # lines missing
    assert _child_answer(_pack([b"words", good.to_bytes()[:-1], b"\x00", lines])) is None  # scan cut
    assert _child_answer(b"") is None and _child_answer(None) is None


def test_lines_known_by_their_members_split_the_rest_only_when_asked() -> None:
    from ledger.cli.sampling import _Lines, lines_of

    data = b"h0\nh1\nc0\r\nc1\nc2"
    whole = lines_of(data)
    lines = _Lines(data, len(whole), {3: b"c1"})
    assert len(lines) == 5 and lines[3] == b"c1" and lines.all is None  # a member: nothing split
    assert lines.pick([3, 3]) == [b"c1", b"c1"] and lines.all is None
    assert lines.pick([4, 3, 0]) == [b"c2", b"c1", b"h0"] and lines.all is not None
    lines = _Lines(data, len(whole), {3: b"c1"})
    assert [lines[i] for i in range(5)] == whole == [b"h0", b"h1", b"c0", b"c1", b"c2"]
    assert lines.all is not None
    with pytest.raises(IndexError):
        lines[5]


def through_click(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """`drledger sample ARGS` parsed by click, as for arguments that are not plain."""
    code = "import sys; from ledger.cli.main import cli; cli(['sample', *sys.argv[1:]], prog_name='drledger')"
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, timeout=120)


@pytest.mark.parametrize(("args", "stdin"), [
    (("--seed", "41", "--ids", "-", "--n", "5", "--drop", "5"), "\n".join(map(str, range(100))).encode()),
    (("--n", "3", "--tickets", "--ids", "-", "--seed", "种子"), "甲\n乙\n丙\n丁\n".encode()),
    (("--seed", "s", "--ids", "-", "--n", "1"), b"a\nb\na\n"),  # refused: duplicate
    (("--seed", "s", "--ids", "-", "--n", "1"), b"a\n\nb\n"),  # refused: blank line
    (("--seed", "s", "--ids", "-", "--n", "4"), b"a\nb\n"),  # refused: too many
    (("--seed", "s", "--ids", "-", "--n", "1"), b"a\n\xff\n"),  # refused: not UTF-8
    (("--seed", "s", "--ids", "/nonexistent/ids.txt", "--n", "1"), b""),  # refused: unreadable
    (("--seed", "s", "--ids", "-", "--n", "007"), b"a\nb\nc\nd\ne\nf\ng\n"),
])
def test_plain_arguments_skip_click_and_answer_as_click_does(args: tuple[str, ...], stdin: bytes) -> None:
    from ledger.cli.sampling import plain_arguments

    assert plain_arguments(list(args)) is not None  # the console script's own path
    fast, slow = run(*args, stdin=stdin), through_click(*args, stdin=stdin)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)


@pytest.mark.parametrize("args", [
    ["--seed", "s", "--ids", "-", "--n=1"], ["--seed", "s", "--ids", "-", "--n", "-1"],
    ["--seed", "s", "--ids", "-", "--n", "1", "--n", "2"], ["--seed", "-s", "--ids", "-", "--n", "1"],
    ["--seed", "s", "--ids", "-"], ["--seed", "s", "--ids", "-", "--n", "１"], ["--help"],
    ["--seed", "s", "--ids", "-", "--n", "1", "--tickets", "--tickets"], ["--seed", "s", "--ids", "-", "--n"],
    ["--seed", "s", "--ids", "-", "--n", "1", "extra"], ["--seed", "s", "--ids", "-", "--n", "1", "--"],
])
def test_other_arguments_are_left_to_click(args: list[str]) -> None:
    from ledger.cli.sampling import plain_arguments

    assert plain_arguments(args) is None


def test_a_plain_run_does_not_import_click(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\nb\nc\n")
    code = ("import sys; sys.argv = ['drledger', 'sample', '--seed', 's', '--ids', sys.argv[1], '--n', '2'];"
            " from ledger.cli.main import main; main()")
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code, path], capture_output=True, timeout=60)
    assert result.returncode == 0 and result.stdout.decode().splitlines() == sample("s", ["a", "b", "c"], n=2)
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.decode().splitlines()]
    assert "ledger.cli.sampling" in imported and "click" not in imported
