# netns.sh USER GROUP SNIPPET: the first process of the namespace in_ns makes
# (see lib.sh). Brings lo up, starts the fake DNS server, runs the snippet.
set -u
user=$1 group=$2 snippet=$3
conf=$(cd "$(dirname "$0")" && pwd)
ip link set lo up || { echo 'netns: cannot bring lo up' >&2; exit 111; }
# The suites (and our bin/ prelude) write to /dev/null as an unprivileged
# user. On a host where /dev/null is not writable by all, give this mount
# namespace a null device of mode 666 over it, and say so: otherwise every
# such write fails and the counts measure the host, not the tools.
nulldir=
mode=$(stat -c %a /dev/null)
if [ "$mode" != 666 ]; then
  nulldir=$(mktemp -d) && mknod "$nulldir/null" c 1 3 && chmod 666 "$nulldir/null" &&
    mount --bind "$nulldir/null" /dev/null ||
    { echo 'netns: /dev/null is not writable by all, and a private one could not be mounted' >&2; exit 111; }
  echo "netns: /dev/null is mode $mode on this host: the run uses a private one of mode 666" >&2
fi
dnsfile=$(mktemp) || exit 111
node "$conf/fakedns.js" >"$dnsfile" &
dnspid=$!
i=0
while [ ! -s "$dnsfile" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
DNSCACHEIP=$(cat "$dnsfile")
rm -f "$dnsfile"
[ -n "$DNSCACHEIP" ] || { echo 'netns: the fake DNS server did not start' >&2; kill $dnspid; exit 111; }
export DNSCACHEIP
if [ "$user" = root ]; then
  sh -c "$snippet"
else
  setpriv --reuid="$user" --regid="$group" --clear-groups sh -c "$snippet"
fi
rc=$?
kill $dnspid 2>/dev/null
wait $dnspid 2>/dev/null
[ -z "$nulldir" ] || { umount /dev/null; rm -rf "$nulldir"; }
exit $rc
