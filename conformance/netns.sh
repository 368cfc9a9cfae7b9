# netns.sh USER GROUP SNIPPET: the first process of the namespace in_ns makes
# (see lib.sh). Brings lo up, starts the fake DNS server, runs the snippet.
set -u
user=$1 group=$2 snippet=$3
conf=$(cd "$(dirname "$0")" && pwd)
ip link set lo up || { echo 'netns: cannot bring lo up' >&2; exit 111; }
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
exit $rc
