# Sourced by scripts/firmware-test --bench (scripts/firmware-bench), after the build: both
# images booted at once, each under its own QEMU on its own TAP in its own network namespace
# (the same addresses in both: the IP is built into the images), then rounds alternating
# between them (blocking, async, blocking, async...): 1 MiB TCP echo, then round trips for
# $BENCH_RT_SECS s, $BENCH_ROUNDS rounds of each. Load from the rest of the host falls on both
# images alike; the best and the median of each, and their ratios, are printed as a table.
# Uses firmware-test's variables (LOG_DIR, FW_IP, HOST_IP, FW_MAC, TCP_ECHO, CONTROL, ...).
BENCH_ROUNDS=${PORTSOCK_FW_BENCH_ROUNDS:-5}
BENCH_RT_SECS=${PORTSOCK_FW_BENCH_RT_SECS:-2}
BENCH_PY=$ROOT/scripts/firmware_bench.py
declare -A PAIR_NS PAIR_PID
pair_cleanup() {
  local image
  for image in "${!PAIR_PID[@]}"; do
    if kill -0 "${PAIR_PID[$image]}" 2>/dev/null; then
      kill "${PAIR_PID[$image]}" 2>/dev/null || true
      wait "${PAIR_PID[$image]}" 2>/dev/null || true
    fi
  done
  for image in "${!PAIR_NS[@]}"; do ip netns del "${PAIR_NS[$image]}" 2>/dev/null || true; done
}
trap pair_cleanup EXIT
pair_prefix() { if [ "$1" = async ]; then echo firmware-async; else echo firmware; fi; }
pair_decode() { # <image>
  local prefix
  prefix=$(pair_prefix "$1")
  "$DEFMT_PRINT" -e "$LOG_DIR/$prefix-control.elf" --log-format '{t} {L} {s}' \
    <"$LOG_DIR/$prefix.defmt" 2>/dev/null || true
}
# One measurement of one image, from inside its namespace; appends `<image> <kind> <figure>`.
pair_measure() { # <image> <kind> [args...]
  local image=$1 kind=$2
  shift 2
  if ! timeout 60 ip netns exec "${PAIR_NS[$image]}" python3 "$BENCH_PY" "$kind" "$FW_IP" "$TCP_ECHO" "$@" \
    >"$LOG_DIR/check.out" 2>&1; then
    sed 's/^/  /' "$LOG_DIR/check.out"
    pair_decode "$image" | tail -20 | sed 's/^/  firmware: /'
    fail "benchmark: $kind on the $image image"
  fi
  grep -v '^result:' "$LOG_DIR/check.out" | sed "s/^/  $image: /"
  echo "$image $kind $(sed -n 's/^result: //p' "$LOG_DIR/check.out")" >>"$RESULTS"
}

for image in $IMAGES; do
  case $image in blocking | async) ;; *) fail "PORTSOCK_FW_IMAGES: unknown image '$image'" ;; esac
  prefix=$(pair_prefix "$image")
  ns=psfw-$$-$image
  PAIR_NS[$image]=$ns
  say "namespace $ns, $TAP $HOST_IP/24, $image image $FW_IP ($FW_MAC)"
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip tuntap add dev "$TAP" mode tap
  ip netns exec "$ns" ip addr add "$HOST_IP/24" dev "$TAP"
  ip netns exec "$ns" ip link set "$TAP" up
  : >"$LOG_DIR/$prefix.defmt"
  # `ip netns exec` execs QEMU, so $! is QEMU's own PID.
  ip netns exec "$ns" qemu-system-arm -machine lm3s6965evb -cpu cortex-m3 -display none \
    -monitor none -serial none -semihosting-config enable=on,target=native \
    -nic "tap,ifname=$TAP,script=no,downscript=no,model=stellaris,mac=$FW_MAC" \
    -kernel "$LOG_DIR/$prefix-control.elf" >"$LOG_DIR/$prefix.defmt" 2>"$LOG_DIR/$prefix-qemu.stderr" &
  PAIR_PID[$image]=$!
done
for image in $IMAGES; do
  booted=
  for _ in $(seq $((BOOT_TIMEOUT * 10))); do
    if pair_decode "$image" | grep -q 'portsock-fw up'; then booted=1; break; fi
    kill -0 "${PAIR_PID[$image]}" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$booted" ]; then
    pair_decode "$image"
    cat "$LOG_DIR/$(pair_prefix "$image")-qemu.stderr" >&2
    fail "no boot line from the $image image within ${BOOT_TIMEOUT}s"
  fi
  say "booted: $image: $(pair_decode "$image" | grep 'portsock-fw up')"
done

RESULTS=$LOG_DIR/bench-rounds.txt
: >"$RESULTS"
for round in $(seq "$BENCH_ROUNDS"); do
  say "round $round of $BENCH_ROUNDS: 1 MiB TCP echo, then ${BENCH_RT_SECS} s of round trips, images alternating"
  for image in $IMAGES; do pair_measure "$image" throughput; done
  for image in $IMAGES; do pair_measure "$image" roundtrips "$BENCH_RT_SECS"; done
done

for image in $IMAGES; do
  if ! timeout 10 ip netns exec "${PAIR_NS[$image]}" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for _ in range(3):
    s.sendto(b"exit", (sys.argv[1], int(sys.argv[2])))
    try:
        raise SystemExit(0 if s.recvfrom(64)[0] == b"bye" else "exit not acknowledged")
    except socket.timeout:
        pass
raise SystemExit("no answer to exit")
' "$FW_IP" "$CONTROL"; then
    fail "the $image image did not acknowledge exit"
  fi
done
for image in $IMAGES; do
  pid=${PAIR_PID[$image]}
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "the $image image did not exit after the exit command"
  status=0
  wait "$pid" || status=$?
  unset "PAIR_PID[$image]"
  log=$LOG_DIR/$(pair_prefix "$image").log
  pair_decode "$image" >"$log"
  [ "$status" = 0 ] || fail "QEMU ($image image) exited with status $status"
  grep -q 'portsock-fw exit' "$log" || fail "no exit line in the $image image's log ($log)"
  ! grep -q 'hard fault\|panic' "$log" || fail "the $image image faulted ($log)"
done

say "benchmark, both images booted at once (QEMU each, own TAP and namespace), rounds alternating:"
python3 "$BENCH_PY" table "$RESULTS" | sed 's/^/  /'
"$ROOT/scripts/firmware-size"
say "ok"
exit 0
