#!/usr/bin/env bash
# Memory and CPU footprint of watchdog-mux serving two clients (the CRM
# and the LRM of one node) that feed it every 5 s, as the HA daemons do.
#
#   benches/watchdog-mux-footprint.sh [SECONDS [BINARY]]
#
# SECONDS defaults to 600, BINARY to target/release/pve-ha. Needs root and
# util-linux (unshare, nsenter) and perl. The server runs in its own mount
# and pid namespaces with a tmpfs on /run and a recording device (a
# regular file): /dev/watchdog is never touched.
set -euo pipefail
secs=${1:-600}
bin=$(realpath "${2:-target/release/pve-ha}")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
: >"$dir/device"

unshare --mount --pid --fork sh -c \
    'mount -t tmpfs tmpfs /run && exec "$0" watchdog-mux --device "$1"' \
    "$bin" "$dir/device" 2>"$dir/stderr" &
upid=$!
spid=
for _ in $(seq 100); do
    spid=$(awk '{print $1}' "/proc/$upid/task/$upid/children" 2>/dev/null || true)
    if [ -n "$spid" ] && [ -S "/proc/$spid/root/run/watchdog-mux.sock" ]; then
        break
    fi
    sleep 0.1
done
[ -n "$spid" ] || { echo "watchdog-mux did not start" >&2; cat "$dir/stderr" >&2; exit 1; }

# A client: feed every 5 s for SECONDS+2, then leave cleanly (V, close).
client='use IO::Socket::UNIX;
my $s = IO::Socket::UNIX->new(Peer => "/run/watchdog-mux.sock", Type => SOCK_STREAM)
    or die "connect: $!";
my $end = time + $ARGV[0];
while (time < $end) { syswrite($s, "\0"); sleep 5; }
syswrite($s, "V"); close($s);'
for _ in 1 2; do
    nsenter --target="$spid" --mount --pid -- perl -e "$client" "$((secs + 2))" &
done

sleep "$secs"
tck=$(getconf CLK_TCK)
rss=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$spid/status")
hwm=$(awk '/^VmHWM/ {print $2, $3}' "/proc/$spid/status")
# Anonymous memory is the server's own; file pages are the binary's code,
# shared with every other pve-ha process (CRM, LRM) on the node.
anon=$(awk '/^RssAnon/ {print $2, $3}' "/proc/$spid/status")
file=$(awk '/^RssFile/ {print $2, $3}' "/proc/$spid/status")
# utime and stime are fields 14 and 15 of /proc/PID/stat (after the
# parenthesised command name, which has no spaces here).
read -r utime stime < <(awk '{print $14, $15}' "/proc/$spid/stat")
wait_clients() { for j in $(jobs -p); do [ "$j" = "$upid" ] || wait "$j" || true; done; }
wait_clients
kill -TERM "$spid"
wait "$upid" || true

echo "watchdog-mux footprint, 2 clients, ${secs} s ($bin)"
echo "  VmRSS  $rss"
echo "  VmHWM  $hwm"
echo "  RssAnon $anon, RssFile $file"
echo "  CPU    user $(awk -v t="$utime" -v h="$tck" 'BEGIN {printf "%.2f", t / h}') s," \
    "system $(awk -v t="$stime" -v h="$tck" 'BEGIN {printf "%.2f", t / h}') s"
echo "  keep-alives $(tr -cd . <"$dir/device" | wc -c), magic close $(tr -cd V <"$dir/device" | wc -c)"
echo "  messages:"
sed 's/^/    /' "$dir/stderr"
