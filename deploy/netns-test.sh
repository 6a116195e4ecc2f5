#!/usr/bin/env bash
# Multi-host test of real `commons` nodes, one per Linux network namespace.
#
#   sudo deploy/netns-test.sh [PATH/TO/commons]      (default: $COMMONS_BIN, else `commons` on PATH)
#
# What it does, printing each step:
#   1. Builds a private network: one namespace holding only a bridge, and four "hosts"
#      (namespaces h1..h4), each joined to the bridge by a veth link, with its own address in
#      10.231.X.0/24. The host's own network is never touched, the namespaces have no default
#      route, and every address a node is given or told about is one of the four.
#   2. Three agencies found a network with the genesis ceremony (genesis new, add-founder,
#      seal, init --genesis) and start their nodes on h1..h3.
#   3. A fourth agency (h4) joins by endorsement: join-request, one endorsement (not enough for
#      k = 2), a second one (admitted), then bootstrap addresses in its config and a restart.
#   4. Updates are submitted, h3 is cut off (its link set down) while both sides submit, then
#      the link is healed, and every node must reach the same digests with nothing lost (exact
#      update counts, every live body, `commons check`).
#   5. Every node is stopped with SIGTERM and must exit 0.
#
# Exit status: 0 pass, 1 fail, 77 skipped (not root, or network namespaces unavailable).
# The namespaces, the nodes and the work directory are removed on every exit (trap); set
# COMMONS_NETNS_KEEP=1 to keep the work directory (data directories and logs) for a look.
set -euo pipefail
exec 2>&1 # one stream, in order, for whoever runs this (the Rust test reads stdout)

readonly SKIP=77
STARTED=$(date +%s)
log() { printf '[netns %4ss] %s\n' "$(($(date +%s) - STARTED))" "$*"; }
skip() {
    echo "SKIP: $*"
    exit "$SKIP"
}

BIN=${1:-${COMMONS_BIN:-$(command -v commons || true)}}
[[ -n $BIN && -x $BIN ]] || {
    echo "FAIL: no commons binary (pass its path, or set COMMONS_BIN)"
    exit 1
}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[[ $(id -u) == 0 ]] || skip "network namespaces need root (run as root, or with sudo)"
command -v ip >/dev/null || skip "no \`ip\` command (iproute2)"
ip netns list >/dev/null 2>&1 || skip "\`ip netns\` is not available"

# Names unique to this run (parallel runs never collide): namespaces oc<id>-br and
# oc<id>-h1..h4. Interface names live inside those namespaces, so short fixed names are safe.
ID=$(printf '%04x%04x' "$(($$ % 65536))" "$RANDOM")
NET="10.231.$((($$ + RANDOM) % 250 + 1))"
BR_NS="oc${ID}-br"
HOSTS=(1 2 3 4)
declare -A NS ADDR DIR PID PEER
for i in "${HOSTS[@]}"; do
    NS[$i]="oc${ID}-h$i"
    ADDR[$i]="$NET.$((10 + i))"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/commons-netns.XXXXXX")
CREATED_NS=()

# A run killed with SIGKILL (a cancelled CI job) cannot run its EXIT trap, so each run records
# its id and process here, and sweeps the namespaces (and the nodes inside them) of runs whose
# process is gone. Runs still alive are never touched.
RUNS=/run/commons-netns-test
mkdir -p "$RUNS"
for owner in "$RUNS"/*; do
    [[ -f $owner ]] || continue
    kill -0 "$(cat "$owner" 2>/dev/null)" 2>/dev/null && continue
    stale=$(basename "$owner")
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^oc${stale}-(br|h[0-9]+)$"); do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null && echo "swept namespace $ns of an earlier run that was killed"
    done
    rm -f "$owner"
done
echo $$ >"$RUNS/$ID"
export RUST_LOG=${RUST_LOG:-info} NO_COLOR=1 # plain log lines in the nodes' log files

# ---------------------------------------------------------------------------------- cleanup
print_logs() {
    for i in "${HOSTS[@]}"; do
        if [[ -f ${WORK}/n$i/node.log ]]; then
            echo "---- last 40 lines of node $i's log (${WORK}/n$i/node.log)"
            tail -n 40 "${WORK}/n$i/node.log" || true
        fi
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if ((rc != 0)); then
        echo "---- state at failure"
        report_state
        print_logs
    fi
    for i in "${!PID[@]}"; do
        kill -TERM "${PID[$i]}" 2>/dev/null
    done
    for i in "${!PID[@]}"; do
        for _ in $(seq 100); do
            kill -0 "${PID[$i]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${PID[$i]}" 2>/dev/null
        wait "${PID[$i]}" 2>/dev/null
    done
    for ns in "${CREATED_NS[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    rm -f "$RUNS/$ID"
    if [[ ${COMMONS_NETNS_KEEP:-0} == 1 ]]; then
        echo "kept the work directory ${WORK}"
    else
        rm -rf "$WORK"
    fi
    log "cleaned up: namespaces oc${ID}-* deleted, nodes stopped"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# To standard error: fail may run inside a command substitution, which captures standard
# output (the script's output is one stream: `exec 2>&1` above).
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# ------------------------------------------------------------------------------ the nodes
# cli I ARGS...: the commons CLI against node I, inside its namespace (the API is on the
# namespace's own loopback).
cli() {
    local i=$1
    shift
    ip netns exec "${NS[$i]}" "$BIN" --data-dir "${DIR[$i]}" "$@"
}

# json_value KEY: the first `"KEY": value` of pretty-printed JSON on stdin (strings unquoted).
json_value() {
    sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n 1
}

# status I KEY: one field of node I's `commons status --json` (empty when it does not answer).
status() {
    cli "$1" status --json 2>/dev/null | json_value "$2" || true
}

report_state() {
    printf '  %-4s %-16s %-8s %-7s %-9s %-9s %s\n' node address updates members connected admitted digest
    for i in "${HOSTS[@]}"; do
        [[ -n ${DIR[$i]:-} && -n ${PID[$i]:-} ]] || continue
        local json
        json=$(cli "$i" status --json 2>/dev/null) || json=""
        printf '  %-4s %-16s %-8s %-7s %-9s %-9s %s\n' "n$i" "${ADDR[$i]}" \
            "$(json_value headers <<<"$json")" "$(json_value members <<<"$json")" \
            "$(json_value connected <<<"$json")" "$(json_value admitted <<<"$json")" \
            "$(json_value header_digest <<<"$json" | cut -c1-16)"
    done
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.25 s until it succeeds;
# fails the test with DESCRIPTION if it has not succeeded within SECONDS.
wait_until() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$(($(date +%s) + timeout))
    until "$@"; do
        (($(date +%s) < deadline)) || fail "timed out after ${timeout}s waiting for: $what"
        sleep 0.25
    done
}

answers() { cli "$1" status --json >/dev/null 2>&1; }
may_sign() { [[ $(status "$1" may_sign) == true ]]; }
has_members() { [[ $(status "$1" members) == "$2" ]]; }
has_admitted_peers() { # has_admitted_peers NODE N: at least N admitted peers
    local n
    n=$(status "$1" admitted)
    [[ -n $n ]] && ((n >= $2))
}
no_missing_bodies() { [[ $(status "$1" missing_bodies) == 0 ]]; }
# partition_noticed: h3 and h1 each count fewer than 3 connected peers.
partition_noticed() {
    local three one
    three=$(status 3 connected)
    one=$(status 1 connected)
    [[ -n $three && -n $one ]] && ((three < 3 && one < 3))
}
exited() { ! kill -0 "$1" 2>/dev/null; }
headers_are() { # headers_are N NODE...
    local n=$1 i
    shift
    for i in "$@"; do [[ $(status "$i" headers) == "$n" ]] || return 1; done
}
converged() { # converged NODE...: same header digest everywhere
    local first="" i d
    for i in "$@"; do
        d=$(status "$i" header_digest)
        [[ -n $d ]] || return 1
        [[ -z $first ]] && first=$d
        [[ $d == "$first" ]] || return 1
    done
}
knows_object() { cli "$1" object "$2" --json >/dev/null 2>&1; }

# write_config I BOOTSTRAP...: node I's config: its own address only, API on loopback, short
# sync interval and heartbeat for a test, screening off.
write_config() {
    local i=$1 list="" b
    shift
    for b in "$@"; do list+="${list:+, }\"$b\""; done
    cat >"${DIR[$i]}/config.toml" <<EOF
# Written by netns-test.sh for node $i on ${ADDR[$i]}; the data directory is this file's.
[api]
listen = "127.0.0.1:7300"
[network]
listen = ["/ip4/${ADDR[$i]}/tcp/7400", "/ip4/${ADDR[$i]}/udp/7400/quic-v1"]
bootstrap = [$list]
[gossip]
heartbeat_ms = 200
mesh_n_low = 2
mesh_n = 3
mesh_n_high = 6
[sync]
interval_s = 2
[store]
cache_mb = 16
[screening]
enabled = false
EOF
}
tcp_addr() { echo "/ip4/${ADDR[$1]}/tcp/7400/p2p/${PEER[$1]}"; }
quic_addr() { echo "/ip4/${ADDR[$1]}/udp/7400/quic-v1/p2p/${PEER[$1]}"; }

start_node() {
    local i=$1
    log "start node $i in ${NS[$i]} (${ADDR[$i]}): commons node run"
    ip netns exec "${NS[$i]}" "$BIN" --data-dir "${DIR[$i]}" node run >>"${DIR[$i]}/node.log" 2>&1 &
    PID[$i]=$!
    wait_until 60 "node $i to answer on its API" answers "$i"
}

# stop_node I: SIGTERM, as systemd and docker stop it; it must exit 0 within 60 s.
stop_node() {
    local i=$1 pid=${PID[$1]} rc=0 t0
    t0=$(date +%s)
    kill -TERM "$pid"
    wait_until 60 "node $i to exit after SIGTERM" exited "$pid"
    wait "$pid" || rc=$?
    unset "PID[$i]"
    ((rc == 0)) || fail "node $i exited with status $rc after SIGTERM"
    grep -q "stopped" "${DIR[$i]}/node.log" || fail "node $i's log does not say it stopped cleanly"
    log "node $i stopped cleanly (exit 0, $(($(date +%s) - t0)) s after SIGTERM)"
}

# make_catalogue FILE FIRST_NORAD COUNT: CelesTrak GP CSV of COUNT LEO element sets with epochs
# an hour ago (never ahead of any node's clock).
make_catalogue() {
    local file=$1 first=$2 count=$3 n k epoch
    epoch=$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%S.000000)
    echo "OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,ECCENTRICITY,INCLINATION,RA_OF_ASC_NODE,ARG_OF_PERICENTER,MEAN_ANOMALY,EPHEMERIS_TYPE,CLASSIFICATION_TYPE,NORAD_CAT_ID,ELEMENT_SET_NO,REV_AT_EPOCH,BSTAR,MEAN_MOTION_DOT,MEAN_MOTION_DDOT" >"$file"
    for ((k = 0; k < count; k++)); do
        n=$((first + k))
        printf 'NETNS TEST %d,2024-%03dA,%s,15.%02d,0.00%02d,%d.5,%d.25,%d.75,%d.125,0,U,%d,999,%d,0.00012,0.00001,0\n' \
            "$n" $((n % 999 + 1)) "$epoch" $((n % 90 + 10)) $((n % 89 + 10)) $((n % 80 + 10)) \
            $((n * 7 % 360)) $((n * 13 % 360)) $((n * 29 % 360)) "$n" $((n % 9000 + 100)) >>"$file"
    done
}

# submit I FILE COUNT: node I signs and stores FILE; every element set must be accepted.
# Prints how many updates that made (estimates plus metadata claims).
submit() {
    local i=$1 file=$2 count=$3 out accepted metadata
    out=$(cli "$i" submit "$file" --json) || fail "node $i: commons submit $file failed: $out"
    accepted=$(json_value accepted <<<"$out")
    metadata=$(json_value metadata_updates <<<"$out")
    [[ $accepted == "$count" ]] || fail "node $i accepted ${accepted:-?} of $count element sets: $out"
    grep -q '"rejected": \[\]' <<<"$out" || fail "node $i rejected some element sets: $out"
    echo $((accepted + metadata))
}

# reachable FROM TO: a TCP connection from host FROM's namespace to host TO's p2p port opens.
reachable() { ip netns exec "${NS[$1]}" timeout 3 bash -c "exec 3<>/dev/tcp/${ADDR[$2]}/7400" 2>/dev/null; }

# ------------------------------------------------------------------------- the network
log "binary: $BIN ($("$BIN" --version))"
log "work directory: $WORK"
log "create namespace $BR_NS holding bridge br0 (no address: it only switches frames)"
ip netns add "$BR_NS" 2>/dev/null || skip "cannot create a network namespace (ip netns add failed)"
CREATED_NS+=("$BR_NS")
ip -n "$BR_NS" link add br0 type bridge
ip -n "$BR_NS" link set br0 up
for i in "${HOSTS[@]}"; do
    log "create host h$i: namespace ${NS[$i]}, eth0 ${ADDR[$i]}/24, veth to bridge port p$i"
    ip netns add "${NS[$i]}"
    CREATED_NS+=("${NS[$i]}")
    ip -n "$BR_NS" link add "p$i" type veth peer name eth0 netns "${NS[$i]}"
    ip -n "$BR_NS" link set "p$i" master br0 up
    ip -n "${NS[$i]}" link set lo up
    ip -n "${NS[$i]}" addr add "${ADDR[$i]}/24" dev eth0
    ip -n "${NS[$i]}" link set eth0 up
    DIR[$i]="$WORK/n$i"
done
log "routes on h1 (no default route: nothing outside $NET.0/24 is reachable):"
ip -n "${NS[1]}" route show | sed 's/^/    /'

# ---------------------------------------------------------------- the genesis ceremony
AGENCY=([1]="Agency One" [2]="Agency Two" [3]="Agency Three" [4]="Agency Four")
GENESIS="$WORK/genesis.json"
for i in 1 2 3; do
    log "founder $i: commons init --agency \"${AGENCY[$i]}\""
    "$BIN" --data-dir "${DIR[$i]}" init --agency "${AGENCY[$i]}" | sed 's/^/    /'
done
log "founder 1: commons genesis new --name netns-test -o genesis.json"
"$BIN" genesis new --name netns-test -o "$GENESIS" | sed 's/^/    /'
for i in 1 2 3; do
    log "founder $i: commons genesis add-founder genesis.json"
    "$BIN" --data-dir "${DIR[$i]}" genesis add-founder "$GENESIS" | sed 's/^/    /'
done
log "founder 1: commons genesis seal genesis.json"
"$BIN" genesis seal "$GENESIS" | sed 's/^/    /'
for i in 1 2 3; do
    "$BIN" --data-dir "${DIR[$i]}" init --genesis "$GENESIS" >/dev/null
    PEER[$i]=$("$BIN" --data-dir "${DIR[$i]}" keys show --json | json_value node_peer_id)
    [[ -n ${PEER[$i]} ]] || fail "no peer id for node $i"
    log "founder $i installed the genesis (commons init --genesis); node peer id ${PEER[$i]}"
done

# Node 1 has no bootstrap peer; node 2 dials node 1 over TCP; node 3 dials node 1 over QUIC
# and node 2 over TCP.
write_config 1
write_config 2 "$(tcp_addr 1)"
write_config 3 "$(quic_addr 1)" "$(tcp_addr 2)"
for i in 1 2 3; do start_node "$i"; done
for i in 1 2 3; do
    wait_until 60 "node $i to admit both other founders" has_admitted_peers "$i" 2
    wait_until 60 "node $i to be allowed to sign (first sync done)" may_sign "$i"
done
log "three founders connected and admitted each other:"
report_state
reachable 3 1 || fail "h3 cannot open a TCP connection to h1"

TOTAL=0
make_catalogue "$WORK/s1.csv" 90001 10
log "node 1 submits 10 element sets (NORAD 90001-90010)"
made=$(submit 1 "$WORK/s1.csv" 10)
TOTAL=$((TOTAL + made))
wait_until 60 "$TOTAL updates at nodes 1-3" headers_are "$TOTAL" 1 2 3
wait_until 60 "the same digest at nodes 1-3" converged 1 2 3
log "nodes 1-3 hold the same $TOTAL updates"

# -------------------------------------------------------- a fourth agency joins by endorsement
log "applicant 4: commons init --agency \"${AGENCY[4]}\", then init --genesis (the network's file)"
"$BIN" --data-dir "${DIR[4]}" init --agency "${AGENCY[4]}" >/dev/null
"$BIN" --data-dir "${DIR[4]}" init --genesis "$GENESIS" >/dev/null
PEER[4]=$("$BIN" --data-dir "${DIR[4]}" keys show --json | json_value node_peer_id)
write_config 4
start_node 4
log "applicant 4: commons join-request --name \"${AGENCY[4]}\" -o join-request.json (node running, no peers)"
cli 4 join-request --name "${AGENCY[4]}" -o "$WORK/join-request.json" | sed 's/^/    /'
log "member 1: commons endorse join-request.json"
cli 1 endorse "$WORK/join-request.json" | sed 's/^/    /'
TOTAL=$((TOTAL + 1))
wait_until 60 "the first endorsement at nodes 1-3" headers_are "$TOTAL" 1 2 3
for i in 1 2 3; do
    has_members "$i" 3 || fail "node $i counts $(status "$i" members) members after one endorsement of k = 2"
done
log "one endorsement of k = 2: still 3 members everywhere"
log "member 2: commons endorse join-request.json"
cli 2 endorse "$WORK/join-request.json" | sed 's/^/    /'
for i in 1 2 3; do wait_until 60 "node $i to count 4 members" has_members "$i" 4; done
log "agency 4 admitted at nodes 1-3; its operator adds bootstrap addresses and restarts"
stop_node 4
write_config 4 "$(tcp_addr 3)" "$(quic_addr 1)"
start_node 4
wait_until 90 "node 4 to be admitted by a peer" has_admitted_peers 4 1
wait_until 90 "node 4 to count 4 members" has_members 4 4
wait_until 90 "node 4 to be allowed to sign (first sync done)" may_sign 4
wait_until 90 "the same digest at all four nodes" converged 1 2 3 4
TOTAL=$(status 1 headers)
headers_are "$TOTAL" 1 2 3 4 || fail "digests agree but update counts differ"
log "four agencies, one catalogue: $TOTAL updates (data, endorsements, the newcomer's binding)"

make_catalogue "$WORK/s2.csv" 90101 5
log "node 4 (the newcomer) submits 5 element sets (NORAD 90101-90105)"
made=$(submit 4 "$WORK/s2.csv" 5)
TOTAL=$((TOTAL + made))
wait_until 60 "$TOTAL updates at all four nodes" headers_are "$TOTAL" 1 2 3 4
for i in 1 2 3; do knows_object "$i" 90101 || fail "node $i does not know the newcomer's object 90101"; done
report_state

# ---------------------------------------------------------------------- partition and heal
log "cut host h3 off: ip -n $BR_NS link set p3 down"
ip -n "$BR_NS" link set p3 down
reachable 3 1 && fail "h3 still reaches h1 with its link down"
reachable 1 3 && fail "h1 still reaches h3 with its link down"
log "h3 reaches nobody, and nobody reaches h3"
BEFORE=$TOTAL
make_catalogue "$WORK/s3.csv" 90201 10
make_catalogue "$WORK/s4.csv" 90301 10
log "during the partition: node 1 submits NORAD 90201-90210, node 3 submits NORAD 90301-90310"
side_one=$(submit 1 "$WORK/s3.csv" 10)
side_two=$(submit 3 "$WORK/s4.csv" 10)
wait_until 60 "$((BEFORE + side_one)) updates on the connected side (1, 2, 4)" \
    headers_are "$((BEFORE + side_one))" 1 2 4
headers_are "$((BEFORE + side_two))" 3 || fail "h3 holds $(status 3 headers) updates, expected only its own $((BEFORE + side_two))"
knows_object 3 90201 && fail "h3 knows object 90201 although it is cut off"
knows_object 1 90301 && fail "h1 knows object 90301 although h3 is cut off"
converged 1 3 && fail "h1 and h3 agree although they are partitioned"
log "partitioned: the sides differ (as they must)"
# The QUIC connection between h3 and h1 times out when no packet gets through; the nodes
# must notice (and, after the heal, dial again: h1 is one of h3's bootstrap peers).
wait_until 60 "h3 and h1 to notice that their QUIC connection is dead" \
    partition_noticed
log "h3 and h1 noticed the partition:"
report_state

log "heal: ip -n $BR_NS link set p3 up"
ip -n "$BR_NS" link set p3 up
HEALED=$(date +%s)
TOTAL=$((BEFORE + side_one + side_two))
wait_until 60 "h3 to be connected to and admitted by all three others again" has_admitted_peers 3 3
wait_until 60 "h1 to admit all three others again" has_admitted_peers 1 3
wait_until 180 "$TOTAL updates at all four nodes after the heal" headers_are "$TOTAL" 1 2 3 4
wait_until 60 "the same digest at all four nodes after the heal" converged 1 2 3 4
log "converged $(($(date +%s) - HEALED)) s after the heal: $TOTAL updates everywhere"
report_state

# ----------------------------------------------------------------------------- nothing lost
BODY=$(status 1 body_digest)
for i in "${HOSTS[@]}"; do
    wait_until 60 "every live body at node $i" no_missing_bodies "$i"
    [[ $(status "$i" body_digest) == "$BODY" ]] || fail "node $i's body digest differs from node 1's"
    for object in 90001 90101 90201 90301 90310; do
        knows_object "$i" "$object" || fail "node $i does not know object $object"
    done
    check=$(cli "$i" check --json)
    [[ $(json_value views_equal_rebuild <<<"$check") == true ]] || fail "node $i: views differ from a rebuild: $check"
    [[ $(json_value own_forks <<<"$check") == 0 ]] || fail "node $i: its agency forked: $check"
done
log "every node: same updates, same live bodies, views equal a rebuild, no fork"

for i in "${HOSTS[@]}"; do stop_node "$i"; done
log "PASS: 4 hosts, 3 founders + 1 endorsed newcomer, partition healed, $TOTAL updates everywhere, in $(($(date +%s) - STARTED)) s"
