# Fixed part of the svcdiscover probe; the format is in docs/probe.md.
# POSIX sh (dash, BusyBox ash); command substitution only in backticks,
# because the kubelet would expand the other form in a container command.
# Every record is one line of tab-separated fields.
rec() {
    printf '%s' "$1"
    shift
    for f in "$@"; do printf '\t%s' "$f"; done
    printf '\n'
}
# Copy stdin as records: the given fields, "out", then the raw line.
raw() {
    while IFS= read -r l || [ -n "$l" ]; do rec "$@" out "$l"; done
}
have() {
    command -v "$1" >/dev/null 2>&1
}
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
# One absolute name, asked alone (no search), type A.
ask() {
    if [ -n "$DIG" ]; then
        o=`dig +nosearch +noall +comments +answer +time="$T" +tries=1 -t A "$1" 2>&1`
        c=$?
        [ -n "$o" ] && printf '%s\n' "$o" | raw query "$1" dig
        rec query "$1" dig exit "$c"
    elif [ -n "$BBNS" ]; then
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
rec "$PROBE_HEADER" "$PROBE_VERSION"
GETENT= DIG= BBNS=
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
