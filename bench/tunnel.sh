#!/bin/bash
# bench/tunnel.sh BUILD_DIR: end-to-end throughput through an IPsec tunnel,
# TUN device to TUN device, between two ipsecmond, and in the same run
# between two strongSwan charons with kernel-libipsec (the anchor: the
# other userspace ESP datapath on a kernel without XFRM).  Each daemon is
# pinned to a core of its own in its own network namespace, joined by a
# veth pair; one TCP stream of SIZE_MB (default 400) MB goes from A's
# protected network to B's (nc), timed from its first byte to its last.
# Transforms: ESP AES-GCM-128, and AES-128-CBC with HMAC-SHA-256.
# TRANSFORMS=, SIZE_MB= and PERF=FILE (perf record of our sender) tune a
# run.  Needs root (namespaces); `make bench` runs it.
set -euo pipefail

build=${1:?usage: tunnel.sh BUILD_DIR}
size_mb=${SIZE_MB:-400}
build=$(cd "$build" && pwd)
. "$(dirname "$0")/lab.sh"
command -v nc >/dev/null || die "nc missing: scripts/install-deps"

# One stream A -> B through the tunnel; prints MB/s.
transfer() {
	local t0 t1 got l
	ip netns exec "$ns_b" sh -c "nc -l -p 5001 | wc -c >$work/got" &
	l=$!
	sleep 0.3
	t0=$(date +%s.%N)
	head -c "$((size_mb * 1048576))" /dev/zero |
		ip netns exec "$ns_a" nc -N -s 10.96.1.1 10.96.2.1 5001 ||
		die "transfer failed"
	wait "$l"
	t1=$(date +%s.%N)
	got=$(cat "$work/got")
	[ "$got" -eq "$((size_mb * 1048576))" ] ||
		die "only $got bytes arrived"
	awk -v a="$t0" -v b="$t1" -v m="$size_mb" \
		'BEGIN { printf("%.1f\n", m / (b - a)) }'
}

# ---- ours ------------------------------------------------------------------

our_policy() { # peer mynet peernet esp
	printf '%s\n' \
		"policy: { name: bench }" \
		"secrets: secrets.yaml" \
		"ike-policies:" \
		"  - { name: mm, offers: [ { encryption: aes128, integrity: sha256, dh-group: 14 } ] }" \
		"negotiation-policies:" \
		"  - { name: qm, offers: [ { esp: $4, lifetime-kb: 0 } ] }" \
		"filter-lists:" \
		"  - { name: nets, filters: [ { source: $2, destination: $3 } ] }" \
		"filter-actions:" \
		"  - { name: sec, action: negotiate, negotiation-policy: qm }" \
		"rules:" \
		"  - { name: peer, filter-list: nets, filter-action: sec, tunnel: $1," \
		"      authentication: [ { method: psk, secret: k } ] }"
}

ours() { # esp -> MB/s
	local d=$work/ours-$1 s
	mkdir -p "$d/a" "$d/b"
	our_policy 10.97.0.2 10.96.1.0/24 10.96.2.0/24 "$1" >"$d/a/policy.yaml"
	our_policy 10.97.0.1 10.96.2.0/24 10.96.1.0/24 "$1" >"$d/b/policy.yaml"
	for s in a b; do
		echo 'k: "bench-key"' >"$d/$s/secrets.yaml"
		chmod 600 "$d/$s/secrets.yaml"
	done
	taskset -c 0 ip netns exec "$ns_a" "$build/ipsec/ipsecmond" \
		-p "$d/a/policy.yaml" -s "$d/a.sock" -e "$d/a/events.jsonl" --config "$d/a/config.json" --ike-log "$d/a/oakley.log" \
		-t ipsmt0 2>"$d/a.log" &
	pids+=($!)
	taskset -c 1 ip netns exec "$ns_b" "$build/ipsec/ipsecmond" \
		-p "$d/b/policy.yaml" -s "$d/b.sock" -e "$d/b/events.jsonl" --config "$d/b/config.json" --ike-log "$d/b/oakley.log" \
		-t ipsmt0 2>"$d/b.log" &
	pids+=($!)
	wait_for "$d/a.sock" 10
	wait_for "$d/b.sock" 10
	for _ in $(seq 50); do
		ip -n "$ns_a" route replace 10.96.2.0/24 dev ipsmt0 \
			src 10.96.1.1 2>/dev/null &&
			ip -n "$ns_b" route replace 10.96.1.0/24 dev ipsmt0 \
				src 10.96.2.1 2>/dev/null && break
		sleep 0.1
	done
	"$build/cli/ipsecmon" --socket "$d/a.sock" initiate rule=peer >/dev/null
	for _ in $(seq 100); do
		"$build/cli/ipsecmon" --socket "$d/b.sock" show qmsas \
			format=json | grep -q outbound_spi && break
		sleep 0.1
	done
	# PERF=FILE profiles the sending daemon over the transfer alone
	local perf=
	if [ -n "${PERF:-}" ]; then
		perf record -g -o "$PERF-$1" -p "${pids[0]}" >/dev/null 2>&1 &
		perf=$!
		sleep 0.5
	fi
	s=$(transfer)
	[ -z "$perf" ] || { kill -INT "$perf"; wait "$perf" || true; }
	stop_all
	echo "$s"
}

# ---- charon ------------------------------------------------------------------

charon_conf() { # me peer mynet peernet esp start
	printf '%s\n' \
		"connections { c {" \
		"  version = 1" \
		"  local_addrs = $1" \
		"  remote_addrs = $2" \
		"  proposals = aes128-sha256-modp2048" \
		"  local { auth = psk }" \
		"  remote { auth = psk }" \
		"  children { c { mode = tunnel" \
		"    local_ts = $3" \
		"    remote_ts = $4" \
		"    esp_proposals = $5" \
		"    start_action = $6 } }" \
		"} }" \
		"secrets { ike-k { secret = bench-key } }"
}

charons() { # esp -> MB/s
	local d=$work/charon-$1 s
	charon_start "$d/b" "$ns_b" 1
	charon_start "$d/a" "$ns_a" 0
	charon_conf 10.97.0.2 10.97.0.1 10.96.2.0/24 10.96.1.0/24 "$1" none \
		>"$d/b/swanctl/swanctl.conf"
	charon_conf 10.97.0.1 10.97.0.2 10.96.1.0/24 10.96.2.0/24 "$1" start \
		>"$d/a/swanctl/swanctl.conf"
	swanctl_in "$d/b" --load-all >"$d/b/load.out" 2>&1 ||
		die "charon config: $(cat "$d/b/load.out")"
	swanctl_in "$d/a" --load-all >"$d/a/load.out" 2>&1 ||
		die "charon config: $(cat "$d/a/load.out")"
	for _ in $(seq 150); do
		grep -q 'CHILD_SA .* established' "$d/a/charon.log" 2>/dev/null &&
			break
		sleep 0.1
	done
	grep -q 'CHILD_SA .* established' "$d/a/charon.log" ||
		die "charon: no CHILD_SA; see $d"
	sleep 0.5 # its routes into ipsec0
	s=$(transfer)
	stop_all
	echo "$s"
}

echo "One TCP stream of $size_mb MB through an IPsec tunnel, TUN to TUN,"
echo "two daemons pinned to a core each in two network namespaces (veth)."
echo
printf "%-16s %10s %12s %8s\n" transform "ours MB/s" "charon MB/s" ratio
for esp in ${TRANSFORMS:-aes128gcm16 aes128-sha256}; do
	o=$(ours "$esp")
	c=$(charons "$esp")
	awk -v n="$esp" -v o="$o" -v c="$c" 'BEGIN {
		printf("%-16s %10.1f %12.1f %7.2fx\n", n, o, c, o / c) }'
done
