"""The in-browser draw verifier as one standalone file, and the vendoring of its npm code.

    python -m ledger.api.site.build_verifier --out verify.html   # the standalone verify.html
    python -m ledger.api.site.build_verifier --sha256            # its SHA-256 (docs/verify-in-browser.md)
    python -m ledger.api.site.build_verifier vendor A.tgz B.tgz  # re-vendor @noble/curves, @noble/hashes

The verifier is plain ES modules under `static/verify/`, importing the
vendored noble code under `static/vendor/` by relative paths, so the site
serves them as they are (`/public/static/...`). `verify.html` is the same page
with every module inline: an import map sends each module's name
(`dv/<path under static>`) to a `data:` URL holding its text, with its own
imports rewritten to those names. A `data:` module can be imported from a page
opened from disk (file://), and the page needs no network at all.

The build is deterministic (modules in sorted order, no dates), so anyone can
rebuild the file from the source and compare its SHA-256 with the one printed
in docs/verify-in-browser.md; the tests hold that line to the build.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import posixpath
import re
import sys
import tarfile
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
ENTRY = "verify/page.js"
PAGE = "verify/index.html"
# The line of PAGE that loads the entry module; the standalone file replaces it.
ENTRY_TAG = '<script type="module" src="page.js"></script>'
# Static import/export specifiers (`import {a} from "x"`, `export * from "x"`, `import "x"`), each at
# the start of a line, as tsc emits them and as our modules are written.
SPECIFIER = re.compile(r"""^((?:import|export)\s[^;'"]*?\bfrom\s*|import\s*)(["'])([^"']+)\2""", re.M)
PREFIX = "dv/"

# Vendoring: the files the verifier needs (the import closure of these entries), per package.
VENDOR = STATIC / "vendor"
PACKAGES = {"@noble/curves": "noble-curves", "@noble/hashes": "noble-hashes"}
VENDOR_ENTRIES = ("@noble/curves/bls12-381.js", "@noble/curves/ed25519.js", "@noble/hashes/sha2.js",
                  "@noble/hashes/hmac.js")


def _resolve(importer: str, specifier: str) -> str:
    if not specifier.startswith(("./", "../")):
        raise ValueError(f"{importer}: import {specifier!r} is not relative (vendored code must import by path)")
    return posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))


def module_graph(entry: str = ENTRY, root: Path = STATIC) -> dict[str, str]:
    """Every module reachable from `entry` (paths under `root`), its imports renamed `dv/<path>`."""
    modules: dict[str, str] = {}
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in modules:
            continue
        text = (root / path).read_text(encoding="utf-8")

        def rename(match: re.Match[str], importer: str = path) -> str:
            target = _resolve(importer, match.group(3))
            todo.append(target)
            return f"{match.group(1)}{match.group(2)}{PREFIX}{target}{match.group(2)}"

        modules[path] = SPECIFIER.sub(rename, text)
    return dict(sorted(modules.items()))


def standalone_html(root: Path = STATIC) -> bytes:
    """verify.html: the verifier page with every module inline (no network, works from file://)."""
    page = (root / PAGE).read_text(encoding="utf-8")
    if page.count(ENTRY_TAG) != 1:
        raise ValueError(f"{PAGE} must load its entry with exactly one {ENTRY_TAG!r}")
    imports = {PREFIX + path: "data:text/javascript;base64," + base64.b64encode(text.encode()).decode()
               for path, text in module_graph(ENTRY, root).items()}
    # "</" cannot occur in base64 or in the keys, so the JSON cannot close its <script> element.
    inline = ('<script type="importmap">' + json.dumps({"imports": imports}, indent=0, sort_keys=True)
              + f'</script>\n<script type="module">import "{PREFIX}{ENTRY}";</script>')
    return page.replace(ENTRY_TAG, inline).replace("<!-- standalone: -->", "<!-- standalone build -->").encode()


def standalone_sha256(root: Path = STATIC) -> str:
    return hashlib.sha256(standalone_html(root)).hexdigest()


@functools.cache
def served_standalone() -> tuple[bytes, str]:
    """(verify.html, its SHA-256 hex) built once per process: what the site serves and prints."""
    html = standalone_html()
    return html, hashlib.sha256(html).hexdigest()


def vendor(tarballs: list[Path], out: Path = VENDOR) -> list[str]:
    """Copy the import closure of VENDOR_ENTRIES from npm tarballs (`npm pack`) into `out`, bare
    `@noble/...` imports rewritten to relative paths; each package's LICENSE and package.json kept."""
    files: dict[str, bytes] = {}
    for tgz in tarballs:
        with tarfile.open(tgz) as tar:
            manifest = json.loads(tar.extractfile("package/package.json").read())  # type: ignore[union-attr]
            folder = PACKAGES[manifest["name"]]
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith("package/"):
                    files[f"{folder}/{member.name[8:]}"] = tar.extractfile(member).read()  # type: ignore[union-attr]
    wanted: dict[str, str] = {}
    todo = [f"{PACKAGES[e.rsplit('/', 1)[0]]}/{e.rsplit('/', 1)[1]}" for e in VENDOR_ENTRIES]
    while todo:
        path = todo.pop()
        if path in wanted:
            continue

        def relative(match: re.Match[str], importer: str = path) -> str:
            spec = match.group(3)
            for package, folder in PACKAGES.items():
                if spec.startswith(package + "/"):
                    target = f"{folder}/{spec[len(package) + 1:]}"
                    spec = posixpath.relpath(target, posixpath.dirname(importer))
                    spec = spec if spec.startswith("../") else "./" + spec
                    break
            todo.append(_resolve(importer, spec))
            return f"{match.group(1)}{match.group(2)}{spec}{match.group(2)}"

        wanted[path] = SPECIFIER.sub(relative, files[path].decode())
    for folder in PACKAGES.values():
        wanted[f"{folder}/LICENSE"] = files[f"{folder}/LICENSE"].decode()
        wanted[f"{folder}/package.json"] = files[f"{folder}/package.json"].decode()
    for path, text in sorted(wanted.items()):
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text, encoding="utf-8")
    return sorted(wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.api.site.build_verifier",
        description="Build the standalone in-browser draw verifier (verify.html), or re-vendor noble.",
        epilog="example: python -m ledger.api.site.build_verifier --out verify.html && sha256sum verify.html",
    )
    parser.add_argument("--out", type=Path, help="write verify.html here ('-' for standard output)")
    parser.add_argument("--sha256", action="store_true", help="print the SHA-256 of verify.html")
    parser.add_argument("vendor", nargs="*", help="'vendor' then the npm tarballs of @noble/curves and @noble/hashes")
    args = parser.parse_args(argv)
    if args.vendor:
        if args.vendor[0] != "vendor" or len(args.vendor) < 2:
            parser.error("usage: vendor CURVES.tgz HASHES.tgz")
        for path in vendor([Path(p) for p in args.vendor[1:]]):
            print(path)
        return 0
    html = standalone_html()
    if args.out is not None:
        if str(args.out) == "-":
            sys.stdout.buffer.write(html)
        else:
            args.out.write_bytes(html)
    if args.sha256 or args.out is None:
        print(hashlib.sha256(html).hexdigest(), file=sys.stderr if str(args.out) == "-" else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
