#!/bin/sh
# Offline stand-in: the real coverage tools are not available on this machine.
echo "remote_coverage_tools stand-in: 'bazel coverage' needs the real tools," \
  "which cannot be downloaded offline" >&2
exit 1
