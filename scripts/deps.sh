#!/bin/sh
# Install what building and testing sluice needs, from Debian 12's packages.
# Idempotent: apt runs only when something is missing. Needs root.
set -eu
PKGS="gcc g++ make meson ninja-build pkg-config python3 \
libjemalloc-dev libmsgpack-dev libcmocka-dev libbenchmark-dev libpcre2-dev libyaml-dev \
clang libclang-rt-14-dev \
libhyperscan-dev librdkafka-dev kcat libdpdk-dev libxdp-dev libbpf-dev libnuma-dev libavro-dev \
libpcap-dev iproute2 libluajit-5.1-dev libsqlite3-dev libcurl4-openssl-dev zlib1g-dev openssl libssl-dev \
libsystemd-dev systemd-journal-remote libmicrohttpd-dev libjwt-dev libjansson-dev libxxhash-dev \
systemd man-db chromium \
golang-go"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: run as root (or install:$missing)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
fi
