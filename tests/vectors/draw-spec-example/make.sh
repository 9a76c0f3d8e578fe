#!/bin/sh
# How the files here were made (docs/draw-spec.md §9). Not run by the tests: the commitment's
# time picks the beacon round, so a new run gives a new draw (and every figure of §9 changes).
# Usage: sh make.sh OUT_DIR   (drledger on PATH, run from the repository root; PYTHON: an interpreter
# with py-arkworks-bls12381 for the verifier's BLS check, default python3)
set -eu
OUT=$1
DRLEDGER_HOME=$(mktemp -d); DRLEDGER_KEYS=$DRLEDGER_HOME/demo-keys   # the demo writes its actors' keys there
export DRLEDGER_HOME DRLEDGER_KEYS
PY=${PYTHON:-python3}
BEACON_SEED='drledger demo city: a local test beacon, NOT public randomness'
drledger demo --small --seed 2026
drledger plan create P-EX --title 示例 --department XY-SCJG --year 2026 \
    --item XY-SCJG-001 --item XY-NYNC-001 --joint XY-NYNC --as planner-XY-SCJG
drledger task create T-EX2 --plan P-EX --name 示例联合抽查 --window 2026-12-14:2026-12-31 \
    --item XY-SCJG-001 --item XY-NYNC-001 --department XY-SCJG --department XY-NYNC \
    --industry K --ratio A=0.3 --count B=1 --ratio C=1 --ratio D=0.5 \
    --experts 1 --load-cap 3 --as planner-XY-SCJG
drledger draw commit T-EX2 --beacon local-test-not-public --delay 30 --as drawer-XY-SCJG
ROUND=$(drledger draw list --task T-EX2 --format json | python3 -c \
    'import json, sys; print(json.load(sys.stdin)[-1]["rounds"].split("#")[1].split()[0])')
sleep 35  # the round must be published (3 s period) before the run
drledger draw run T-EX2 --as drawer-XY-SCJG \
    --signature "$(drledger beacon local --seed "$BEACON_SEED" --round "$ROUND")"
mkdir -p "$OUT"
drledger draw export T-EX2 --out "$OUT/bundle.json"
drledger draw export T-EX2 --public --out "$OUT/bundle-public.json"
drledger draw prove T-EX2 91360502988KC3TQLD > "$OUT/proof-member.json"   # class D, not drawn
drledger draw prove T-EX2 52360502CXHGH25YGX > "$OUT/proof-absent.json"   # a clinic, not real estate (K)
for f in bundle bundle-public; do "$PY" docs/verify_draw.py "$OUT/$f.json"; done
"$PY" docs/verify_draw.py --proof "$OUT/proof-member.json" "$OUT/bundle-public.json"
"$PY" docs/verify_draw.py --proof "$OUT/proof-absent.json" "$OUT/bundle.json"
