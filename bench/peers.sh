#!/bin/bash
# bench/peers.sh BUILD_DIR [N]: Main Mode + Quick Mode handshakes per second
# between two ipsecmond, and in the same run between two strongSwan
# charons (the anchor), each daemon pinned to a core of its own in its own
# network namespace, joined by a veth pair.  N negotiations (default 1000)
# start at once; the figure is N over the time from the first start to the
# last Quick Mode completed.  Cases: MODP-2048 and ECP-256, with and without
# PFS; PSK, AES-128-CBC/SHA-256, ESP AES-GCM-128, tunnel mode.  The DH floor
# for one core per side is measured by bench/ike_handshakes in this run.
# Needs root (namespaces); `make bench` runs it.
set -euo pipefail

build=${1:?usage: peers.sh BUILD_DIR [N]}
n=${2:-1000}
build=$(cd "$build" && pwd)
. "$(dirname "$0")/lab.sh"
[ "$(nproc)" -ge 2 ] || die "needs two cores, one per daemon"

# ---- ours ------------------------------------------------------------------

our_policy() { # me peer mynet peernet group pfs
	cat <<EOF
policy: { name: bench }
secrets: secrets.yaml
ike-policies:
  - { name: mm, dpd-delay: 0, offers: [ { encryption: aes128, integrity: sha256, dh-group: $5 } ] }
negotiation-policies:
  - { name: qm, pfs-group: $6, offers: [ { esp: aes128gcm16 } ] }
filter-lists:
  - { name: nets, filters: [ { source: $3, destination: $4 } ] }
filter-actions:
  - { name: sec, action: negotiate, negotiation-policy: qm }
rules:
  - { name: peer, filter-list: nets, filter-action: sec, tunnel: $2,
      authentication: [ { method: psk, secret: k } ] }
EOF
}

ours() { # group pfs -> "handshakes/s"
	local d=$work/ours-$1-$2 out
	mkdir -p "$d/a" "$d/b"
	our_policy 10.97.0.1 10.97.0.2 10.96.1.0/24 10.96.2.0/24 "$1" "$2" \
		>"$d/a/policy.yaml"
	our_policy 10.97.0.2 10.97.0.1 10.96.2.0/24 10.96.1.0/24 "$1" "$2" \
		>"$d/b/policy.yaml"
	for s in a b; do
		echo 'k: "bench-key"' >"$d/$s/secrets.yaml"
		chmod 600 "$d/$s/secrets.yaml"
	done
	taskset -c 0 ip netns exec "$ns_a" "$build/ipsec/ipsecmond" \
		-p "$d/a/policy.yaml" -s "$d/a.sock" -e "$d/a/events.jsonl" --config "$d/a/config.json" --ike-log "$d/a/oakley.log" \
		2>"$d/a.log" &
	pids+=($!)
	taskset -c 1 ip netns exec "$ns_b" "$build/ipsec/ipsecmond" \
		-p "$d/b/policy.yaml" -s "$d/b.sock" -e "$d/b/events.jsonl" --config "$d/b/config.json" --ike-log "$d/b/oakley.log" \
		2>"$d/b.log" &
	pids+=($!)
	wait_for "$d/a.sock" 10
	wait_for "$d/b.sock" 10
	# PERF=FILE profiles the responder over the negotiations alone
	# (PERF_G="--call-graph dwarf" for stacks through libcrypto).
	local perf=
	if [ -n "${PERF:-}" ]; then
		perf record ${PERF_G:--g} -o "$PERF-$1-$2" -p "${pids[-1]}" \
			>/dev/null 2>&1 &
		perf=$!
		sleep 0.5
	fi
	out=$("$build/bench/ctl_burst" "$d/a.sock" peer "$n" 120) ||
		die "ours ($1/$2): only $out; see $d"
	[ -z "$perf" ] || { kill -INT "$perf"; wait "$perf" || true; }
	stop_all
	# handshakes seconds failures
	awk -v o="$out" 'BEGIN { split(o, f, " ");
		if (f[3] != 0) printf("(%d failures) ", f[3]);
		printf("%.0f\n", f[1] / f[2]) }'
}

# ---- charon ------------------------------------------------------------------

charons() { # group pfs -> "handshakes/s"
	local d=$work/charon-$1-$2 ike esp i done=0 t0 t1
	case $1 in 14) ike=aes128-sha256-modp2048 ;; 19) ike=aes128-sha256-ecp256 ;; esac
	esp=aes128gcm16
	[ "$2" = none ] || esp=$esp-$(echo "$ike" | cut -d- -f3)
	charon_start "$d/b" "$ns_b" 1
	charon_start "$d/a" "$ns_a" 0
	# Responder: any initiator identity, one PSK.
	cat >"$d/b/swanctl/swanctl.conf" <<EOF
connections {
  r {
    version = 1
    local_addrs = 10.97.0.2
    remote_addrs = 10.97.0.1
    proposals = $ike
    dpd_delay = 0s
    local { auth = psk }
    remote { auth = psk
      id = %any }
    children { r { mode = tunnel
      local_ts = 10.96.2.0/24
      remote_ts = 10.96.1.0/24
      esp_proposals = $esp } }
  }
}
secrets { ike-k { secret = bench-key } }
EOF
	swanctl_in "$d/b" --load-all >"$d/b/load.out" 2>&1 ||
		die "charon responder config: $(cat "$d/b/load.out")"
	# Initiator: N connections, each its own identity (so each gets its
	# own IKE_SA), all started as they load.
	{
		echo "connections {"
		for i in $(seq "$n"); do
			cat <<EOF
  c$i {
    version = 1
    local_addrs = 10.97.0.1
    remote_addrs = 10.97.0.2
    proposals = $ike
    dpd_delay = 0s
    local { auth = psk
      id = c$i@bench }
    remote { auth = psk
      id = 10.97.0.2 }
    children { c$i { mode = tunnel
      local_ts = 10.96.1.0/24
      remote_ts = 10.96.2.0/24
      esp_proposals = $esp
      start_action = start } }
  }
EOF
		done
		echo "}"
		echo "secrets { ike-k { secret = bench-key } }"
	} >"$d/a/swanctl/swanctl.conf"
	swanctl_in "$d/a" --load-all >"$d/a/load.out" 2>&1 ||
		die "charon initiator config: $(cat "$d/a/load.out")"
	for _ in $(seq 1200); do
		done=$(grep -c 'CHILD_SA .* established' "$d/a/charon.log" || true)
		[ "$done" -ge "$n" ] && break
		sleep 0.1
	done
	stop_all
	[ "$done" -ge "$n" ] || die "charon ($1/$2): $done of $n; see $d"
	t0=$(grep -m1 'initiating Main Mode' "$d/a/charon.log" | cut -d' ' -f1)
	t1=$(grep 'CHILD_SA .* established' "$d/a/charon.log" | tail -1 |
		cut -d' ' -f1)
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf("%.0f\n", n / (b - a)) }'
}

io_floor() { # group -> handshakes/s of the bare nine datagrams
	local size=180 out
	[ "$1" = 14 ] && size=300 # MM3/MM4 carry 256-byte KE payloads
	taskset -c 1 ip netns exec "$ns_b" "$build/bench/udp_floor" serve 4999 &
	pids+=($!)
	sleep 0.3
	out=$(taskset -c 0 ip netns exec "$ns_a" "$build/bench/udp_floor" \
		run 10.97.0.2 4999 "$n" "$size") || die "udp_floor failed"
	stop_all
	echo "$out"
}

floor() { # group pfs -> handshakes/s one core per side can do at most
	local us
	us=$("$build/bench/ike_handshakes" --dh-side "$1")
	awk -v us="$us" -v pfs="$2" 'BEGIN {
		dhs = (pfs == "none") ? 1 : 2; printf("%.0f\n", 1e6 / (us * dhs)) }'
}

echo "Two daemons, one core each, in two network namespaces over veth;"
echo "$n Main Mode + Quick Mode negotiations started at once (PSK,"
echo "AES-128/SHA-256, ESP AES-GCM-128, tunnel mode).  Floors per core:"
echo "DH (keygen + derive), I/O (the nine datagrams, no crypto), and both."
echo
printf "%-15s %8s %8s %8s %8s %8s %9s %9s %9s\n" group ours charon \
	"DH" "I/O" "DH+I/O" "ours/ch" "DH/ours" "both/ours"
# CASES="19:none 19:19" picks cases; ANCHOR=no skips the charons (for
# profiling ours; the ratio columns then read against 1).
cases=${CASES:-14:none 14:14 19:none 19:19}
for c in $cases; do
	g=${c%%:*} p=${c##*:}
	name=$([ "$g" = 14 ] && echo MODP-2048 || echo ECP-256)
	[ "$p" = none ] || name=$name+PFS
	set -- "$g" "$p" "$name"
	o=$(ours "$1" "$2")
	ch=1
	[ "${ANCHOR:-yes}" = no ] || ch=$(charons "$1" "$2")
	f=$(floor "$1" "$2")
	io=$(io_floor "$1")
	awk -v name="$3" -v o="${o##* }" -v c="$ch" -v f="$f" -v io="$io" \
		-v os="$o" 'BEGIN {
		both = 1 / (1 / f + 1 / io)
		printf("%-15s %8s %8d %8d %8d %8d %8.2fx %8.2fx %8.2fx\n", name,
		    os, c, f, io, both, o / c, f / o, both / o) }'
done
