# bench/lab.sh: what bench/peers.sh and bench/tunnel.sh share, sourced
# by both after they set $build: two network namespaces joined by veth
# (A 10.97.0.1, B 10.97.0.2; protected addresses 10.96.1.1 and 10.96.2.1
# on lo), the daemons they start (killed on exit), and strongSwan charons
# with kernel-libipsec, each in a mount namespace of its own.

charon_bin=/usr/lib/ipsec/charon
work=$(mktemp -d /tmp/ipsecmon-bench.XXXXXX)
ns_a=ipsb-a-$$
ns_b=ipsb-b-$$
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns_a" 2>/dev/null || true
	ip netns del "$ns_b" 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

[ -x "$charon_bin" ] || die "$charon_bin missing: scripts/install-deps"

ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add bpa$$ netns "$ns_a" type veth peer name bpb$$ netns "$ns_b"
ip -n "$ns_a" addr add 10.97.0.1/24 dev bpa$$
ip -n "$ns_b" addr add 10.97.0.2/24 dev bpb$$
for ns in "$ns_a" "$ns_b"; do
	ip -n "$ns" link set lo up
done
# An address inside each side's protected net: charon routes from it.
ip -n "$ns_a" addr add 10.96.1.1/32 dev lo
ip -n "$ns_b" addr add 10.96.2.1/32 dev lo
ip -n "$ns_a" link set bpa$$ up
ip -n "$ns_b" link set bpb$$ up

stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}

wait_for() { # path timeout_s
	for _ in $(seq $(($2 * 10))); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	die "$1 did not appear"
}

# charon_start DIR NS CPU: a charon with kernel-libipsec in NS, pinned to
# CPU, its files (log with millisecond times, vici socket) under DIR.
charon_start() {
	local d=$1 vici=unix://$1/charon.vici
	mkdir -p "$d/run" "$d/swanctl"
	cat >"$d/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = random nonce openssl pem pkcs1 x509 pubkey sha1 sha2 hmac aes gcm kdf kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  # All N negotiations of peers.sh come from one address: lift charon's
  # per-address limit on half-open IKE_SAs (5), which ours does not have.
  block_threshold = 100000
  plugins {
    vici {
      socket = $vici
    }
    kernel-libipsec {
      allow_peer_ts = no
    }
  }
  filelog {
    main {
      path = $d/charon.log
      time_format = %s
      time_add_ms = yes
      append = no
      flush_line = yes
      default = 0
    }
  }
}
swanctl {
  load = random nonce openssl pem pkcs1 x509 pubkey sha1 sha2 hmac aes
  socket = $vici
}
EOF
	STRONGSWAN_CONF=$d/strongswan.conf taskset -c "$3" \
		ip netns exec "$2" unshare -m --propagation private \
		sh -c 'mount --bind "$1/run" /run && exec '"$charon_bin" \
		sh "$d" >"$d/charon.out" 2>&1 &
	pids+=($!)
	wait_for "$d/charon.vici" 15
}

swanctl_in() { # dir args...
	local d=$1
	shift
	STRONGSWAN_CONF=$d/strongswan.conf SWANCTL_DIR=$d/swanctl \
		swanctl "$@" --uri "unix://$d/charon.vici"
}
