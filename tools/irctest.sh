#!/usr/bin/env bash
# Run the reference suite progval/irctest against this checkout's IRC gateway (docs/IRC.md,
# *Tested against*).  By hand, not by CI: it clones irctest at a pinned commit into a work folder
# outside the checkout, makes a venv there for irctest's own requirements (pytest ...), and runs
# the modules below through contrib/irctest/algokart_controller.py, which starts src/server.py for
# each test (one channel, #chan; loopback; a fresh accounts file) and tells irctest what it offers.
#
#   tools/irctest.sh [WORKDIR] [pytest arguments ...]   # WORKDIR defaults to ../irctest-run
#
# Needs git, python3 (3.10+) and network access for the clone and pip (or IRCTEST_REPO naming a
# local clone or mirror of irctest).  The summary is at the end of the output.
set -euo pipefail

COMMIT=b00c039   # irctest's commit the counts in docs/IRC.md were measured at
MODULES=(
  connection_registration pingpong messages cap isupport join part names quit who whois away
  regressions buffering utf8
  away_notify message_tags echo_message labeled_responses multi_prefix sasl account_tag extended_join
  chathistory
)
checkout=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$checkout/../irctest-run}
shift || true
repo=${IRCTEST_REPO:-https://github.com/progval/irctest.git}

if [[ ! -d "$work/.git" ]]; then
  git clone --quiet "$repo" "$work"
fi
git -C "$work" checkout --quiet "$COMMIT"
if [[ ! -x "$work/.venv/bin/pytest" ]]; then
  python3 -m venv "$work/.venv"
  "$work/.venv/bin/pip" install --quiet -r "$work/requirements.txt"
fi
files=()
for module in "${MODULES[@]}"; do files+=("irctest/server_tests/$module.py"); done
cd "$work"
ALGOKART_CHECKOUT="$checkout" PYTHONPATH="$checkout/contrib/irctest" \
  .venv/bin/pytest --controller algokart_controller -p no:cacheprovider -q -rfEs "${files[@]}" "$@"
