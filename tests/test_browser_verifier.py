"""The in-browser draw verifier (src/ledger/api/site/static/verify/) in Debian's chromium.

Draws are made on a real SQLite ledger through the users' own paths (the
ledger of tests/test_verify_draw_standalone.py: the demo city, a planner and
a drawer signing plans, tasks, commitments and runs, the local test beacon);
their public bundles come from `export_bundle(..., public=True)`, as
`drledger draw export TASK --public` writes them. The page is served by a
real HTTP server (the static folder at /public/static/, bundles at
/public/draws/<task>/bundle.json, as the site lays them out) or opened from
disk (the standalone verify.html). docs/verify_draw.py, run in this process
on the same bundles, is the reference the JavaScript must agree with.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib.util
import json
import random
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.api.site.build_verifier import STATIC, module_graph, standalone_html
from ledger.demo.beacon import DEMO_BEACON
from ledger.draw.spec import Quota
from ledger.services.bundles import export_bundle
from ledger.services.ledger import CommandRefused
from ledger.services.log import inclusion_proof
from tests.browser import serve
from tests.cli_helpers import run as drledger
from tests.test_verify_draw_standalone import DemoLedger, demo_ledger, random_task

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "verify-in-browser.md"
DRAWS = 50  # random draws the two verifiers must agree on
DONE = "#verdict[data-verdict=pass], #verdict[data-verdict=fail]"
Bundle = dict[str, Any]


def _reference() -> Any:
    """docs/verify_draw.py as a module (it is a standalone script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("verify_draw", ROOT / "docs" / "verify_draw.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference()


def python_verdict(bundle: Bundle) -> tuple[str, str | None]:
    """("pass" | "fail", the first failing check) from docs/verify_draw.py, BLS and Ed25519 checked."""
    lines: list[str] = []
    code = REFERENCE.verify_bundle(copy.deepcopy(bundle), False, say=lines.append)
    assert code in (0, 1), ("the reference could not check everything (py_arkworks_bls12381 missing?)", lines)
    if code == 0:
        return "pass", None
    failed = re.fullmatch(r'REJECTED: the first failing check is "(.+)"', lines[-1])
    assert failed, lines
    return "fail", failed.group(1)


# -- Draws and a site serving them ----------------------------------------------------------

@dataclass
class Site:
    ledger: DemoLedger
    tasks: list[str]  # drawn tasks, in order
    changed: str  # a draw with a recusal, a 补抽 and a substitution after it
    root: Path  # served: public/static -> the static folder, public/draws/<task>/bundle.json
    base: str  # http://127.0.0.1:PORT

    def bundle(self, task_id: str) -> Bundle:
        return json.loads((self.root / "public" / "draws" / task_id / "bundle.json").read_bytes())

    def page_url(self, query: str = "") -> str:
        return f"{self.base}/public/static/verify/index.html{query}"


def _draw_until(ledger: DemoLedger, rng: random.Random, count: int) -> list[str]:
    """`count` random draws (tasks the ledger refuses as impossible to draw are skipped)."""
    tasks: list[str] = []
    for _ in range(count * 4):
        if len(tasks) == count:
            break
        try:
            task_id, _ = ledger.draw(**random_task(rng, ledger.city))
        except CommandRefused as error:
            assert error.code == "draw_impossible", error
            continue
        tasks.append(task_id)
    assert len(tasks) == count, f"only {len(tasks)} random tasks could be drawn"
    return tasks


def _change(ledger: DemoLedger, task_id: str) -> None:
    """A recusal (signed by the officer), a 补抽 and a reviewer's substitution, as in the reference's tests."""
    from ledger.domain.draws import ExtendBody, RecuseBody, SubstituteBody
    from ledger.integrity.keys import Signer, public_key_b64

    full = json.loads(export_bundle(ledger.config, task_id))
    teams, department = full["recorded"]["teams"], full["inputs"]["departments"][0]
    officer = teams[0]["inspectors"][-1]
    for actor, role in ((officer, "inspector"), ("reviewer", "reviewer")):
        ledger.ledger.keys[actor] = signer = Signer.generate()
        ledger.submit("admin", "actor.register", {"actor_id": actor, "department": department, "name": actor,
                                                  "public_key": public_key_b64(signer.public_key), "roles": [role]})
    ledger.submit(officer, "draw.recuse", RecuseBody(task_id=task_id, target=teams[0]["target"], reason="与负责人系亲属"))
    k = next(k for k in "CBAD" if len(full["inputs"]["pool"][k]) > len(full["recorded"]["targets"][k]) + 2)
    ledger.submit("drawer", "draw.extend", ExtendBody(task_id=task_id, risk_class=k, count=2, reason="部分企业已注销，按规定补抽"))
    ledger.submit("reviewer", "draw.substitute", SubstituteBody(task_id=task_id, target=teams[-1]["target"],
                                                                officer=teams[-1]["inspectors"][0], reason="病假"))


def _publish(site: Site, task_ids: list[str]) -> None:
    """Each task's public bundle at public/draws/<task>/bundle.json (its full bundle beside it)."""
    for task_id in task_ids:
        folder = site.root / "public" / "draws" / task_id
        folder.mkdir(parents=True)
        (folder / "bundle.json").write_bytes(export_bundle(site.ledger.config, task_id, public=True))
        (folder / "full.json").write_bytes(export_bundle(site.ledger.config, task_id))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A few random draws and a changed one, published and served."""
    tmp = tmp_path_factory.mktemp("browser-verifier")
    ledger = demo_ledger(tmp / "ledger", 8)
    tasks = _draw_until(ledger, random.Random(14), 5)
    changed, _ = ledger.draw(items=("XY-SCJG-010", "XY-SCJG-002"), departments=("XY-SCJG",),
                             quotas={"A": Quota(ratio="0.05"), "B": Quota(count=4), "C": Quota(ratio="0.25")})
    _change(ledger, changed)
    root = tmp / "site"
    (root / "public").mkdir(parents=True)
    (root / "public" / "static").symlink_to(STATIC, target_is_directory=True)
    with serve(root) as base:
        built = Site(ledger, tasks, changed, root, base)
        _publish(built, [*tasks, changed])
        yield built


@pytest.fixture(scope="module")
def many(site: Site) -> list[str]:
    """DRAWS random draws in all (more on the same ledger), published."""
    more = _draw_until(site.ledger, random.Random(2027), DRAWS - len(site.tasks))
    _publish(site, more)
    site.tasks.extend(more)
    return list(site.tasks)


@pytest.fixture(scope="module")
def page(browser: Any, site: Site) -> Iterator[Any]:  # noqa: F811 - the fixture
    """One page of the served verifier, reused: each test verifies its bundles through it."""
    context = browser.new_context()
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(site.page_url())
    tab.wait_for_function("window.drledgerVerify !== undefined")
    yield tab
    context.close()
    assert not errors, errors


def js_verdict(page: Any, bundle: Bundle, inclusion: Any = None) -> tuple[str, str | None]:
    """Verify through the page (the checks shown as they run); the verdict the page shows."""
    result = page.evaluate("([b, p]) => window.drledgerVerify.run(b, p)", [bundle, inclusion])
    shown = page.get_attribute("#verdict", "data-verdict")
    failed = page.get_attribute("#verdict", "data-failed-check")
    assert (shown, failed) == (result["verdict"], result["failed"]), result
    if shown == "fail":
        marked = page.eval_on_selector_all("#checks li[data-status=fail]", "items => items.map(i => i.dataset.check)")
        assert marked == [failed], (marked, result)
        assert f'the first failing check is "{failed}"' in page.text_content("#verdict")
    return shown, failed


# -- Tampering ------------------------------------------------------------------------------

def _flip_hex(text: str) -> str:
    return ("1" if text[0] != "1" else "2") + text[1:]


def _undrawn(b: Bundle) -> tuple[str, int]:
    """A class and the index of a commitment of it whose firm was not drawn (not revealed)."""
    revealed = {REFERENCE.firm_commitment(bytes.fromhex(s), u) for u, s in b["revealed"].items()}
    for k in "ABCD":
        for i, c in enumerate(b["inputs"]["pool"][k]):
            if c not in revealed:
                return k, i
    raise AssertionError("every pooled firm was drawn")


def _has_undrawn(b: Bundle) -> bool:
    try:
        _undrawn(b)
    except AssertionError:
        return False
    return True


def change_target(b: Bundle) -> None:
    """Two drawn targets swapped (within a class if it has two, else across classes)."""
    drawn = [(k, i) for k in "ABCD" for i in range(len(b["recorded"]["targets"][k]))]
    (k1, i1), (k2, i2) = drawn[0], drawn[1]
    t = b["recorded"]["targets"]
    t[k1][i1], t[k2][i2] = t[k2][i2], t[k1][i1]


def change_seed(b: Bundle) -> None:
    b["recorded"]["seed"] = _flip_hex(b["recorded"]["seed"])


def change_pool_leaf(b: Bundle) -> None:
    """An undrawn firm's commitment (a leaf of its class tree) changed in its last digit."""
    k, i = _undrawn(b)
    c = b["inputs"]["pool"][k][i]
    b["inputs"]["pool"][k][i] = c[:-1] + ("0" if c[-1] != "0" else "1")


def change_pool_leaf_rehashed(b: Bundle) -> None:
    """The same, with the inputs digest recomputed over it (as a forger would): the roots catch it."""
    change_pool_leaf(b)
    b["commitment"]["inputs_digest"] = b["recorded"]["inputs_digest"] = REFERENCE.inputs_digest(b["inputs"])


def change_beacon_signature(b: Bundle) -> None:
    """Another round's genuine signature of the same network, with its randomness."""
    signature = DEMO_BEACON.signature_for(b["recorded"]["beacons"][0]["round"] + 1)
    b["recorded"]["signatures"][0] = signature.hex()
    b["recorded"]["beacons"][0]["randomness"] = hashlib.sha256(signature).hexdigest()


def change_drawer_signature(b: Bundle) -> None:
    raw = base64.b64decode(b["drawer"]["signed"]["signature"])
    b["drawer"]["signed"]["signature"] = base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode()


# The five alterations the page must name, with the check that must fail first.
NAMED: dict[str, tuple[Callable[[Bundle], None], str]] = {
    "target": (change_target, "targets"),
    "seed": (change_seed, "seed"),
    "pool leaf": (change_pool_leaf, "inputs digest"),
    "pool leaf, digest recomputed": (change_pool_leaf_rehashed, "pool"),
    "beacon signature": (change_beacon_signature, "beacon signatures"),
    "drawer signature": (change_drawer_signature, "run signature"),
}


def _team_reversed(b: Bundle) -> None:
    b["recorded"]["teams"][0]["inspectors"].reverse()


def _salt_changed(b: Bundle) -> None:
    uscc = sorted(b["revealed"])[0]
    b["revealed"][uscc] = _flip_hex(b["revealed"][uscc])


def _commit_signature(b: Bundle) -> None:
    raw = base64.b64decode(b["commitment"]["signed"]["signature"])
    b["commitment"]["signed"]["signature"] = base64.b64encode(raw[:-1] + bytes([raw[-1] ^ 0x80])).decode()


def _drawer_key_replaced(b: Bundle) -> None:
    b["drawer"]["public_key"] = base64.b64encode(hashlib.sha256(b"another key").digest()).decode()


def _run_body(b: Bundle) -> None:
    command = json.loads(base64.b64decode(b["drawer"]["signed"]["command"]))
    command["body"]["task_id"] += "x"
    raw = json.dumps(command, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    b["drawer"]["signed"]["command"] = base64.b64encode(raw).decode()


# More alterations for the agreement test (each verifier names its own first failing check).
OTHERS: dict[str, Callable[[Bundle], None]] = {
    "team leader swapped": _team_reversed,
    "revealed salt changed": _salt_changed,
    "commit signature flipped": _commit_signature,
    "drawer key replaced": _drawer_key_replaced,
    "signed run for another task": _run_body,
    "outcome digest": lambda b: b["recorded"].__setitem__("outcome_digest", _flip_hex(b["recorded"]["outcome_digest"])),
    "inspectors per target below two": lambda b: b["inputs"].__setitem__("inspectors_per_target", 1),
    "quota changed": lambda b: b["inputs"]["quotas"].__setitem__("D", {"ratio": None, "count": 1}),
    "beacon period": lambda b: next(iter(b["beacons"].values())).__setitem__("period", 4),
    "publication time": lambda b: b["commitment"]["beacons"][0].__setitem__(
        "published_at", b["commitment"]["beacons"][0]["published_at"] - 1),
    "randomness": lambda b: b["recorded"]["beacons"][0].__setitem__(
        "randomness", _flip_hex(b["recorded"]["beacons"][0]["randomness"])),
    "draw version": lambda b: b["recorded"].__setitem__("task_version", b["recorded"]["task_version"] + 1),
    "format": lambda b: b.__setitem__("format", "drledger-draw-bundle/v3"),
    "frozen position": lambda b: b["inputs"].__setitem__("position", b["inputs"]["position"] - 1),
    "conflicts unsorted": lambda b: b["inputs"]["conflicts"].reverse(),
}
ALL = {**{name: alter for name, (alter, _) in NAMED.items()}, **OTHERS}


# -- Tests --------------------------------------------------------------------------------------

def test_a_real_draw_passes_in_the_browser(browser: Any, site: Site, artifacts: Path) -> None:  # noqa: F811
    """The page as the site serves it: ?bundle= downloads the public bundle, each check passes in turn."""
    task_id = site.tasks[0]
    tab = browser.new_page()
    try:
        tab.goto(site.page_url(f"?bundle=/public/draws/{task_id}/bundle.json"))
        tab.wait_for_selector(DONE)
        assert tab.get_attribute("#verdict", "data-verdict") == "pass", tab.text_content("#verdict")
        statuses = tab.eval_on_selector_all("#checks li", "items => items.map(i => [i.dataset.check, i.dataset.status])")
        assert [name for name, _ in statuses] == [
            "format", "inputs", "inputs digest", "pool", "commitment", "beacon rounds", "beacon timing",
            "beacon randomness", "beacon signatures", "seed", "targets", "teams", "outcome digest", "attempts",
            "commit signature", "run signature", "changes", "change signatures", "checkpoint inclusion"]
        assert all(status == "pass" for _, status in statuses[:-1]) and statuses[-1][1] == "skip", statuses
        bundle = site.bundle(task_id)
        text = tab.text_content("#checks")
        assert bundle["recorded"]["seed"] in text and bundle["commitment"]["pool_root"] in text
        assert "验证通过" in tab.text_content("#verdict") and "LOCAL TEST beacon" in text
        tab.screenshot(path=artifacts / "verify-pass.png", full_page=True)
    finally:
        tab.close()


def test_each_check_is_shown_as_it_runs(page: Any, site: Site) -> None:
    """The list shows each check running, then its outcome, one after the other, in the reference's order;
    after a failure the remaining checks are marked as not run."""
    watch = """() => {
        window.statusLog = [];
        window.statusWatch?.disconnect();
        window.statusWatch = new MutationObserver((changes) => changes.forEach((c) => window.statusLog.push(
            [c.target.dataset.check, c.target.dataset.status])));
        window.statusWatch.observe(
            document.getElementById('checks'), {subtree: true, attributes: true, attributeFilter: ['data-status']});
    }"""
    page.evaluate(watch)
    bundle = site.bundle(site.tasks[0])
    assert js_verdict(page, bundle) == ("pass", None)
    names = ["format", "inputs", "inputs digest", "pool", "commitment", "beacon rounds", "beacon timing",
             "beacon randomness", "beacon signatures", "seed", "targets", "teams", "outcome digest", "attempts",
             "commit signature", "run signature", "changes", "change signatures"]
    log = page.evaluate("window.statusLog")
    assert log == [[n, s] for n in names for s in ("running", "pass")] + [
        ["checkpoint inclusion", "running"], ["checkpoint inclusion", "skip"]], log
    altered = copy.deepcopy(bundle)
    change_seed(altered)
    page.evaluate(watch)
    assert js_verdict(page, altered) == ("fail", "seed")
    log = page.evaluate("window.statusLog")
    at = names.index("seed")
    assert log[: 2 * at + 2] == [[n, s] for n in names[:at] for s in ("running", "pass")] + [["seed", "running"],
                                                                                          ["seed", "fail"]], log
    assert log[2 * at + 2:] == [[n, "notrun"] for n in [*names[at + 1:], "checkpoint inclusion"]], log


def test_the_draws_event_is_in_the_checkpoint(page: Any, site: Site) -> None:
    """With `drledger log prove`'s inclusion proof of the draw's event, the last check runs too."""
    task_id = site.tasks[1]
    bundle = site.bundle(task_id)
    done = drledger("log", "prove", "--index", str(bundle["recorded"]["event_position"] - 1),
                    home=site.ledger.config.home)
    assert done.returncode == 0, done.stderr
    proof = json.loads(done.stdout)
    assert js_verdict(page, bundle, proof) == ("pass", None)
    assert "is in the log of size" in page.text_content("li[data-check='checkpoint inclusion']")
    other = dict(proof, root=base64.b64encode(hashlib.sha256(b"another root").digest()).decode())
    assert js_verdict(page, bundle, other) == ("fail", "checkpoint inclusion")
    assert js_verdict(page, bundle, dict(proof, proof=proof["proof"][:-1])) == ("fail", "checkpoint inclusion")
    elsewhere = inclusion_proof(site.ledger.config, bundle["recorded"]["event_position"] - 2)  # the draw.run command
    assert js_verdict(page, bundle, dict(proof, leafIdx=elsewhere.index, leafHash=base64.b64encode(
        elsewhere.leaf_hash).decode(), proof=[base64.b64encode(p).decode() for p in elsewhere.proof])) == (
        "fail", "checkpoint inclusion")


@pytest.mark.parametrize("name", sorted(NAMED))
def test_an_altered_bundle_fails_naming_its_check(page: Any, site: Site, artifacts: Path, name: str) -> None:
    alter, check = NAMED[name]
    bundle = next(b for b in map(site.bundle, site.tasks) if _has_undrawn(b))  # a firm to swap in or alter
    altered = copy.deepcopy(bundle)
    alter(altered)
    assert altered != bundle
    assert python_verdict(altered) == ("fail", check), "the reference disagrees with this test's expectation"
    assert js_verdict(page, altered) == ("fail", check)
    page.screenshot(path=artifacts / f"verify-fail-{name.replace(' ', '-').replace(',', '')}.png", full_page=True)


def test_a_changed_draw_passes_and_an_altered_successor_fails(page: Any, site: Site) -> None:
    """替换 and 补抽 after the draw: the JavaScript recomputes them as the reference does."""
    bundle = site.bundle(site.changed)
    assert [c["kind"] for c in bundle["changes"]] == ["recuse", "extend", "substitute"]
    assert js_verdict(page, bundle) == python_verdict(bundle) == ("pass", None)
    assert "3 change(s): recuse@" in page.text_content("li[data-check=changes]")
    altered = copy.deepcopy(bundle)
    altered["changes"][0]["fields"]["joining"] = altered["changes"][0]["fields"]["leaving"]
    assert js_verdict(page, altered) == python_verdict(altered) == ("fail", "changes")
    resigned = copy.deepcopy(bundle)
    raw = base64.b64decode(resigned["changes"][1]["signed"]["signature"])
    resigned["changes"][1]["signed"]["signature"] = base64.b64encode(bytes([raw[0] ^ 4]) + raw[1:]).decode()
    assert js_verdict(page, resigned) == python_verdict(resigned) == ("fail", "change signatures")


@pytest.mark.slow
def test_agrees_with_the_python_verifier_on_random_draws(page: Any, site: Site, many: list[str]) -> None:
    """Every random draw's public bundle (and every fifth's full bundle) as exported, and altered once
    at random: docs/verify_draw.py and the page give the same verdict and name the same check."""
    rng = random.Random(2026)
    verdicts: dict[str, int] = {}
    for n, task_id in enumerate(many):
        bundle = site.bundle(task_id)
        bundles = [bundle, json.loads((site.root / "public" / "draws" / task_id / "full.json").read_bytes())]
        for b in bundles[: 2 if n % 5 == 0 else 1]:
            assert js_verdict(page, b) == python_verdict(b) == ("pass", None), task_id
        for name in rng.sample(sorted(ALL), len(ALL)):  # the first alteration this draw allows
            altered = copy.deepcopy(bundle)
            try:
                ALL[name](altered)
            except (IndexError, StopIteration, AssertionError):  # e.g. no targets to swap
                continue
            if altered != bundle:
                break
        expected = python_verdict(altered)
        assert expected[0] == "fail", (task_id, name)
        assert js_verdict(page, altered) == expected, (task_id, name)
        verdicts[expected[1] or ""] = verdicts.get(expected[1] or "", 0) + 1
    assert len(many) >= 50 and len(verdicts) >= 8, verdicts  # the alterations reached many checks
    # The draws vary in what matters: joint tasks, experts, load caps, exclusions.
    inputs = [site.bundle(t)["inputs"] for t in many]
    assert any(len(i["departments"]) > 1 for i in inputs) and any(i["experts_per_target"] for i in inputs)
    assert any(i["load_cap"] for i in inputs) and any(i["excluded"] for i in inputs)


def test_ed25519_without_webcrypto_uses_noble(page: Any, site: Site) -> None:
    """A browser without WebCrypto Ed25519 checks the drawer's signatures with the vendored noble code."""
    bundle = site.bundle(site.tasks[3])
    engine = page.evaluate("async () => (await import('/public/static/verify/signature.js')).ed25519Engine()")
    assert engine == "WebCrypto"  # Debian's chromium has it
    page.evaluate("async () => (await import('/public/static/verify/signature.js')).useEd25519Engine('noble')")
    try:
        assert js_verdict(page, bundle) == ("pass", None)
        assert "Ed25519, noble" in page.text_content("li[data-check='run signature']")
        altered = copy.deepcopy(bundle)
        change_drawer_signature(altered)
        assert js_verdict(page, altered) == ("fail", "run signature")
    finally:
        page.evaluate("async () => (await import('/public/static/verify/signature.js')).useEd25519Engine('WebCrypto')")


def test_sampler_and_beacon_vectors(page: Any) -> None:
    """docs/sampler.md's worked examples, and drand quicknet's public round 1000 (tests/vectors/drand)."""
    order = page.evaluate("""async () => {
        const { sample } = await import('/public/static/verify/sampler.js');
        return [sample('31', ['a', 'b', 'c', 'd']),
                sample('41', Array.from({length: 100}, (_, i) => String(i)), 10).slice(5)];
    }""")
    assert order == [["b", "a", "d", "c"], ["42", "39", "20", "11", "67"]]
    vector = json.loads((ROOT / "tests" / "vectors" / "drand" / "quicknet.json").read_text())
    problems = page.evaluate("""async ([chain, rounds]) => {
        const { blsProblem, chainInfo } = await import('/public/static/verify/beacon.js');
        const { fromHex } = await import('/public/static/verify/util.js');
        const info = chainInfo('quicknet', chain);
        return rounds.map(([r, s]) => blsProblem(info.publicKey, r, fromHex(s)));
    }""", [vector["chain"], [[r["round"], r["signature"]] for r in vector["rounds"] + vector["invalid"]]])
    assert problems[0] is None and all(problems[1:]), problems
    assert "does not verify for round 1001" in problems[1]


def test_a_bundle_from_another_site_is_refused(browser: Any, site: Site) -> None:  # noqa: F811
    """?bundle= downloads from this site only: a link must not make the page vouch for a foreign bundle."""
    tab = browser.new_page()
    try:
        tab.goto(site.page_url("?bundle=https://example.invalid/bundle.json"))
        tab.wait_for_selector(DONE)
        assert tab.get_attribute("#verdict", "data-failed-check") == "download"
        assert "must come from this site" in tab.text_content("#verdict")
        tab.goto(site.page_url("?bundle=/public/draws/no-such-task/bundle.json"))
        tab.wait_for_selector(DONE)
        assert tab.get_attribute("#verdict", "data-failed-check") == "download"
    finally:
        tab.close()


# -- The standalone verify.html -----------------------------------------------------------------

def test_standalone_file_is_deterministic_and_its_sha256_is_documented() -> None:
    html = standalone_html()
    assert html == standalone_html()
    digest = hashlib.sha256(html).hexdigest()
    assert f"`{digest}`" in DOC.read_text(encoding="utf-8"), (
        f"docs/verify-in-browser.md must print the SHA-256 of the built verify.html: {digest}")
    text = html.decode()
    # Everything inline: no script, style or link fetched from anywhere.
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|@import|https?://[^\s\"'<>]*\.js", text)
    modules = module_graph()
    assert set(modules) >= {"verify/page.js", "vendor/noble-curves/bls12-381.js", "vendor/noble-curves/ed25519.js"}
    for path in modules:
        assert f'"dv/{path}"' in text


def test_standalone_file_verifies_a_chosen_file_offline(browser: Any, site: Site, tmp_path: Path,  # noqa: F811
                                                        artifacts: Path) -> None:
    """verify.html saved to disk and opened from file://, with the network off: a downloaded bundle
    chosen with the file input passes; an altered copy fails, naming the check."""
    html = tmp_path / "verify.html"
    html.write_bytes(standalone_html())
    downloaded = tmp_path / "bundle.json"
    shutil.copy(site.root / "public" / "draws" / site.tasks[4] / "bundle.json", downloaded)
    altered = json.loads(downloaded.read_bytes())
    change_seed(altered)
    (tmp_path / "altered.json").write_text(json.dumps(altered, ensure_ascii=False))
    context = browser.new_context(offline=True)
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(html.as_uri())
        tab.wait_for_function("window.drledgerVerify !== undefined")
        tab.set_input_files("#bundle-file", str(downloaded))
        tab.wait_for_selector(DONE)
        assert tab.get_attribute("#verdict", "data-verdict") == "pass", tab.text_content("#verdict")
        tab.screenshot(path=artifacts / "verify-html-file-pass.png", full_page=True)
        tab.set_input_files("#bundle-file", str(tmp_path / "altered.json"))
        tab.wait_for_selector("#verdict[data-verdict=fail]")
        assert tab.get_attribute("#verdict", "data-failed-check") == "seed"
        tab.screenshot(path=artifacts / "verify-html-file-fail.png", full_page=True)
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.slow
def test_agrees_on_the_reference_tests_alterations(page: Any, site: Site) -> None:
    """Every single-field alteration of tests/test_verify_draw_standalone.py that applies to these full
    bundles: the page names the same first failing check as docs/verify_draw.py."""
    from tests.test_verify_draw_standalone import ALTERATIONS

    tried = set()
    for task_id in site.tasks[:1]:
        bundle = json.loads((site.root / "public" / "draws" / task_id / "full.json").read_bytes())
        for name, (alter, _) in sorted(ALTERATIONS.items()):
            altered = copy.deepcopy(bundle)
            try:
                alter(altered)
            except (IndexError, StopIteration, AssertionError, KeyError, ValueError, RuntimeError, TypeError):
                continue  # needs what this draw lacks (experts, attempts, a void...)
            if altered == bundle:
                continue
            expected = python_verdict(altered)
            assert js_verdict(page, altered) == expected, (task_id, name)
            tried.add(name)
    assert len(tried) >= len(ALTERATIONS) // 2, sorted(set(ALTERATIONS) - tried)
