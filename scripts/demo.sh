#!/usr/bin/env bash
# The demo: no servers. Copies the sample mails in examples/demo/mail into a
# fresh Maildir, runs `cfpd run --once` on examples/demo/cfpd.toml (SQLite,
# outgoing mail written as .eml files), then shows what was stored and sent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin cfpd
bin=target/debug/cfpd
demo=examples/demo
rm -rf "$demo/state"
mkdir -p "$demo/state/inbox/new" "$demo/state/inbox/cur" "$demo/state/inbox/tmp"
cp "$demo"/mail/*.eml "$demo/state/inbox/new/"
echo "== cfpd run --once (Maildir in, SQLite, mail out to $demo/state/outbox)"
"$bin" --config "$demo/cfpd.toml" run --once
echo
echo "== cfpd messages: every inbound message and its terminal state"
"$bin" --config "$demo/cfpd.toml" messages
echo
echo "== cfpd proposals list"
"$bin" --config "$demo/cfpd.toml" proposals list
echo
echo "== acknowledgments written to $demo/state/outbox:"
ls -1 "$demo/state/outbox"
first=$(ls -1 "$demo/state/outbox"/*.eml | head -n 1)
echo
echo "== $first"
cat "$first"
