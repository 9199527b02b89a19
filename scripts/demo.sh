#!/bin/sh
# The demonstration `npm start` runs, inside a throwaway network namespace (on this host, or in a guest
# kernel that has nlmon): add a capturing link, make netlink traffic, read the counters, delete it.
root=$(cd "$(dirname "$0")/.." && pwd)
nlmonctl() { node "$root/bin/run.js" "$@"; }
run() {
  printf '\n$ nlmonctl'; printf ' %s' "$@" | sed 's/^ nlmonctl//'; printf '\n'
  "$@" 2>&1; rc=$?
  [ "$rc" -eq 0 ] || printf '(exit %d)\n' "$rc"
  return 0
}
say() { printf '\n# %s\n' "$*"; }

say "kernel $(uname -r); nlmon links only see traffic while UP, so add brings the link up"
printf '$ link=$(nlmonctl add --alias "npm start demo")\n'
link=$(nlmonctl add --alias "npm start demo") || exit 1
echo "$link"
run nlmonctl list
run nlmonctl stats "$link"

say "some netlink traffic: ip link show / ip addr show, three times"
for i in 1 2 3; do ip link show >/dev/null; ip addr show >/dev/null; done
run nlmonctl stats "$link"
run nlmonctl stats "$link" --json
run nlmonctl stats "$link" --watch --interval 0.5 --count 2

say "what nlmon refuses is refused before anything reaches the kernel (exit 2)"
run nlmonctl add --address 02:00:00:00:00:01
say "del touches only nlmon links (exit 5)"
run nlmonctl del lo

run nlmonctl del "$link"
run nlmonctl list --json
