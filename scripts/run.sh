#!/bin/sh
# Quick start: install what is missing, build, and run sluice on its default
# configuration (syslog UDP+TCP on 127.0.0.1:5140, JSON lines on
# 127.0.0.1:5170, records to stdout). Extra arguments go to sluice.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh
exec build/sluice -c conf/sluice.conf "$@"
