#!/bin/sh
# Runs a Python unittest file under Bazel (sh_test): Bazel 4's py_test stub
# wants `python` on PATH, which Debian does not have; python3 is enough.
# Usage (from a BUILD file): args = ["$(rootpath test_x.py)"].
if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 not found: skipping $1"
  exit 0
fi
exec python3 -B "$@"
