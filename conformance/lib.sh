# Sourced by the suite scripts. Nothing here holds a suite's text: the suites
# run from the copy the user extracted, in a scratch directory under $TMPDIR.
set -u
conf=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$conf")
ourbin=$root/bin
# The commands this project provides (ucspi-tcp.sh adds the client tools); the
# suites' other tools come from the Debian packages in both runs.
OURS='tcpsvd udpsvd tcpserver tcprules tcprulescheck ipsvd-cdb supervise svscan svc svok svstat multilog tai64nlocal
  setuidgid envuidgid envdir softlimit pgrphack setlock tai64n fghack readproctitle'
sysbin=/usr/bin
basepath=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin

die() { echo "$0: fatal: $*" >&2; exit 111; }

need() {
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die "needs $t (not found on PATH)"
  done
}

checkroot() {
  [ "$(id -u)" = 0 ] || die 'needs root: unshare, the fake DNS server on port 53, the uid switch'
  need unshare ip setpriv node timeout
  [ -f "$root/dist/test/helpers/fakedns.js" ] && [ -f "$root/dist/cmd/tcpserver.js" ] ||
    die "run npm run build in $root first"
  for c in $OURS; do
    [ -x "$sysbin/$c" ] || die "the Debian reference $sysbin/$c is missing (packages ucspi-tcp, ipsvd, daemontools)"
  done
}

# farm DIR WHICH: DIR/<command> -> our bin/ or the Debian binary, for every
# command we provide. Put DIR first on PATH.
farm() {
  mkdir -p "$1" || die "cannot create $1"
  for c in $OURS; do
    case $2 in
      ours) ln -sf "$ourbin/$c" "$1/$c" ;;
      debian) ln -sf "$sysbin/$c" "$1/$c" ;;
    esac
  done
}

# scratch NAME: a fresh directory for one run, owned by $runas.
scratch() {
  d=$(mktemp -d "${TMPDIR:-/tmp}/conformance-$1.XXXXXX") || die 'mktemp failed'
  chmod 755 "$d"
  echo "$d"
}

# in_ns USER SNIPPET: runs `sh -c SNIPPET` as USER (root, or a user name whose
# group is given by $rungroup) inside new network and pid namespaces whose
# only interface is loopback, with $DNSCACHEIP pointing at the fake DNS server
# started inside the same namespace, and a mount namespace of their own (see
# netns.sh: /dev/null). When the snippet ends, the namespace's
# first process ends and the kernel kills whatever the suite left behind; the
# whole run is bounded by $CONF_TIMEOUT seconds (default 300).
in_ns() {
  timeout -k 5 "${CONF_TIMEOUT:-300}" \
    unshare --mount --net --pid --fork --kill-child -- sh "$conf/netns.sh" "$1" "${rungroup:-nogroup}" "$2"
}

# cleanup: remove the scratch directory on exit, unless $CONF_KEEP is set
# (then say where it is: the raw outputs are debian/ and ours/ in it).
cleanup() {
  if [ -n "${CONF_KEEP:-}" ]; then
    trap 'echo "kept $work" >&2' EXIT
  else
    trap 'rm -rf "$work"' EXIT
  fi
  trap 'exit 111' INT TERM
}
