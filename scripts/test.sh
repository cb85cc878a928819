#!/bin/sh
# The whole test suite: install what is missing, build, then
#   1. unit and end-to-end tests (build/, gcc, jemalloc);
#   2. the unit and end-to-end tests again under ASan+UBSan, and the fuzz
#      targets for a bounded time (build-san/, clang);
#   3. the end-to-end tests against a ThreadSanitizer build (build-tsan/);
#   4. docs/CONFIG.md is what the option tables generate.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh

echo "== unit and e2e tests"
meson test -C build --suite unit --suite e2e --print-errorlogs

echo "== sanitizers (ASan+UBSan): unit, e2e, fuzz smoke"
if [ ! -f build-san/build.ninja ]; then
	CC=clang CXX=clang++ meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false \
		-Djemalloc=disabled -Dfuzz=true -Dbench=disabled
fi
ninja -C build-san
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C build-san --suite unit --suite fuzz-smoke --suite e2e --print-errorlogs

echo "== ThreadSanitizer: the end-to-end tests against a TSan build of sluice"
if [ ! -f build-tsan/build.ninja ]; then
	CC=clang CXX=clang++ meson setup build-tsan -Db_sanitize=thread -Db_lundef=false \
		-Djemalloc=disabled -Dtests=disabled -Dbench=disabled
fi
ninja -C build-tsan sluice bench/loadgen/loadgen
# One test at a time: TSan slows sluice several times over, and two
# loaded tests at once would starve each other of the 2 cores.
# SLUICE_TSAN: the Kafka tests skip here (librdkafka is not instrumented).
# tests/tsan.supp: OpenSSL's internals, which TSan cannot see (it says why).
SLUICE_TSAN=1 TSAN_OPTIONS="halt_on_error=0 suppressions=$(pwd)/tests/tsan.supp" \
	meson test -C build-tsan --suite e2e --print-errorlogs --num-processes 1

echo "== docs/CONFIG.md matches the option tables"
build/sluice --doc-config | diff -u docs/CONFIG.md - || {
	echo "docs/CONFIG.md is stale: run  build/sluice --doc-config > docs/CONFIG.md" >&2
	exit 1
}
echo "all tests passed"
