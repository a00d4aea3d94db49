#!/usr/bin/env bash
# `make sanitize`: the SQL-injection check's C parts built with AddressSanitizer and UBSan in a
# throwaway checkout of HEAD, then the detector's tests run against them. A memory error or
# undefined behaviour aborts the run with a report. (The tests that watch RSS for leaks are
# left out: ASan holds freed memory in quarantine, which looks like growth.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python="$root/.venv/bin/python"
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --detach --quiet "$work/tree" HEAD
cd "$work/tree"
CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
  LDFLAGS="-fsanitize=address,undefined" "$python" scripts/build_native.py >/dev/null
runtime="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
LD_PRELOAD="$runtime" ASAN_OPTIONS=detect_leaks=0 "$python" -m pytest -q -p no:randomly \
  tests/security/native tests/security/test_sql_injection.py tests/security/test_sqli_corpora.py \
  -k "not memory and not leak and not rss" "$@"
