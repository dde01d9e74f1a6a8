# Fixed part of the svcdiscover probe; the format is in docs/probe.md.
# POSIX sh (dash, BusyBox ash); command substitution only in backticks,
# because the kubelet would expand the other form in a container command.
# Every record is one line of tab-separated fields, written by one printf
# (one write), so that records of jobs run side by side never interleave
# within a line.
rec() {
    r_=$1
    shift
    for f in "$@"; do r_="$r_	$f"; done
    printf '%s\n' "$r_"
}
# Copy stdin as records: the given fields, "out", then the raw line.
raw() {
    while IFS= read -r l || [ -n "$l" ]; do rec "$@" out "$l"; done
}
have() {
    command -v "$1" >/dev/null 2>&1
}
NL='
'
# What an application sees for a typed name.
app() {
    if [ -n "$GETENT" ]; then
        # Bounded like the dig queries (glibc's default is 5 s x 2 tries per
        # server); the search behaviour is unchanged.
        o=`RES_OPTIONS="$RES_OPTIONS timeout:$T attempts:1" getent ahosts "$1" 2>&1`
        c=$?
        [ -n "$o" ] && printf '%s\n' "$o" | raw app "$1" getent
        rec app "$1" getent exit "$c"
    elif [ -n "$BBNS" ]; then
        o=`$BBNS -type=a -timeout="$T" "$1" 2>&1`
        c=$?
        [ -n "$o" ] && printf '%s\n' "$o" | raw app "$1" nslookup
        rec app "$1" nslookup exit "$c"
    fi
}
# Every absolute name, each asked alone (no search), type A: one dig
# process for all of them, its output streamed as it comes. +qr prints each
# query as sent (";; Sending:" and its question) before its answer or its
# error, which is how the reader attributes every line to its name.
askall() {
    [ $# -gt 0 ] || return 0
    if [ -n "$DIG" ]; then
        for n in "$@"; do rec batch dig name "$n"; done
        # dig's stdout is a pipe, so stdio would hold its lines until it
        # exits; line-buffered, an exec cut short still has every query
        # printed so far.
        LB=
        have stdbuf && LB='stdbuf -oL'
        { c=`{ { $LB dig +nosearch +noall +comments +qr +question +answer +time="$T" +tries=1 -t A "$@" 2>&1; echo "$?" >&3; } | raw batch dig >&4; } 3>&1`; } 4>&1
        rec batch dig exit "$c"
    else
        for n in "$@"; do ask "$n"; done
    fi
}
# One absolute name, asked alone (no search), type A, without dig.
ask() {
    if [ -n "$BBNS" ]; then
        o=`$BBNS -type=a -timeout="$T" -retry=1 "$1" 2>&1`
        c=$?
        [ -n "$o" ] && printf '%s\n' "$o" | raw query "$1" nslookup
        rec query "$1" nslookup exit "$c"
    fi
}
cand() {
    rec name "$1" candidate "$2"
}
wild() {
    rec wildcard "$1"
}
# One TCP connection to IP PORT (--connect): connected, refused, timeout or
# error, and the tool's first line. bash's /dev/tcp under timeout; else nc,
# with -z where it has it (OpenBSD, BusyBox built with it), else as BusyBox's
# small nc, which connects, reads EOF from /dev/null and quits. timeout(1)
# exits 124 (GNU) or 143 (BusyBox) when it stops the tool.
# The generated part runs `connwith` once, then a few `conn` side by side.
connwith() {
    if have bash && have timeout; then
        CONNWITH=bash
    elif have nc; then
        if nc -h 2>&1 | grep -q -e -z; then CONNWITH=ncz; else CONNWITH=nc; fi
    else
        CONNWITH=none
    fi
}
conn() {
    [ -n "$CONNWITH" ] || connwith
    TO=
    have timeout && TO="timeout $TW"
    case $CONNWITH in
    bash)
        how='bash /dev/tcp'
        o=`timeout "$T" bash -c 'exec 3<>"/dev/tcp/$1/$2"' bash "$1" "$2" 2>&1`
        c=$?
        ;;
    ncz)
        how='nc -z'
        o=`$TO nc -n -v -z -w "$T" "$1" "$2" </dev/null 2>&1`
        c=$?
        ;;
    nc)
        how=nc
        o=`$TO nc -w "$T" "$1" "$2" </dev/null 2>&1`
        c=$?
        ;;
    *)
        rec connect "$1" "$2" error 'no tool to connect with: neither bash with timeout nor nc'
        return
        ;;
    esac
    d=${o%%"$NL"*}
    [ -n "$d" ] || d=$how
    if [ "$c" = 0 ]; then
        r=connected
    elif [ "$c" = 124 ] || [ "$c" = 143 ]; then
        r=timeout
        d="no answer within $T s ($how)"
    else
        case $o in
        *[Rr]efused*) r=refused ;;
        *[Tt]imed\ out*) r=timeout ;;
        *) r=error ;;
        esac
    fi
    rec connect "$1" "$2" "$r" "$d"
}
rec "$PROBE_HEADER" "$PROBE_VERSION"
GETENT= DIG= BBNS= CONNWITH=
for t in getent dig nslookup busybox getconf; do
    p=`command -v "$t" 2>/dev/null` && rec tool "$t" "$p"
done
have getent && GETENT=1
have dig && DIG=1
# BusyBox nslookup, as an applet of a busybox binary or as plain nslookup
# (BIND's nslookup is left alone: dig does its job better).
if have busybox && busybox nslookup --help 2>&1 | grep -q BusyBox; then
    BBNS='busybox nslookup'
elif have nslookup && nslookup --help 2>&1 | grep -q BusyBox; then
    BBNS=nslookup
fi
[ -n "$BBNS" ] && rec tool busybox-nslookup yes
v=`getconf GNU_LIBC_VERSION 2>/dev/null` && rec libc glibc "$v"
for f in /lib/ld-musl-*.so.1; do
    [ -e "$f" ] && rec libc musl "$f"
done
[ -n "${LOCALDOMAIN+x}" ] && rec env LOCALDOMAIN "$LOCALDOMAIN"
[ -n "${RES_OPTIONS+x}" ] && rec env RES_OPTIONS "$RES_OPTIONS"
if [ -r /etc/resolv.conf ]; then
    raw resolv < /etc/resolv.conf
else
    rec resolv missing
fi
