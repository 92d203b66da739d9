#!/bin/sh
# mib/lint.sh MIB [SMIPATH]: smilint -l 6 must say nothing at all about
# the module (it exits 0 on warnings, so its output is what counts).
set -eu
mib=$1
SMIPATH=${2:-/usr/local/share/ipsecmon/mibs}
export SMIPATH
out=$(smilint -l 6 "$mib" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
echo "$(basename "$mib"): smilint -l 6 clean"
