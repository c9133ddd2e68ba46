#!/bin/sh
# install.sh: installs eintrfix from this release tarball, or removes it.
#
#   ./install.sh [--prefix DIR] [--destdir DIR]               install
#   ./install.sh [--prefix DIR] [--destdir DIR] --uninstall   remove
#
# --prefix (default /usr/local; or PREFIX=) is where it is installed:
#   PREFIX/bin/eintrfix                      the command
#   PREFIX/lib/eintrfix/libeintrfix.so       the library (the command finds it by itself)
#   PREFIX/share/man/man1/eintrfix.1         the manual page
#   PREFIX/share/doc/eintrfix/               README.md, copyright
#   PREFIX/lib/eintrfix/installed            what was installed, for --uninstall
#   PREFIX/lib/eintrfix/install.sh           this script, to run --uninstall later
# --destdir (or DESTDIR=) stages the files under DIR instead, for a package
# or an image; the paths inside stay PREFIX's.
#
# Each file is copied beside its place and renamed over it, so a program
# running with the old library keeps it until it exits. Installing over an
# earlier install removes that one first. --uninstall removes every file it
# installed and every directory it created (the prefix and its parents
# included), if empty: a prefix that held nothing before holds nothing after.
set -eu

prefix=${PREFIX:-/usr/local}
destdir=${DESTDIR:-}
uninstall=false
me=install.sh

usage() {
    sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p}' "$0"
}
die() {
    echo "$me: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift ;;
    --prefix=*) prefix=${1#--prefix=} ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; destdir=$2; shift ;;
    --destdir=*) destdir=${1#--destdir=} ;;
    --uninstall) uninstall=true ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
case $prefix in
/*) ;;
*) die "--prefix must be an absolute path: '$prefix'" ;;
esac
prefix=${prefix%/}
case $destdir in
'' | /*) ;;
*) destdir=$(pwd)/$destdir ;;
esac
destdir=${destdir%/}
top=$destdir$prefix
manifest=lib/eintrfix/installed

# Removes what the manifest lists: the files, then the directories the
# install created, deepest first, each only if empty: those inside the
# prefix ("d DIR", relative), then the prefix and those above it that it
# created ("p /DIR", under the destdir).
remove() {
    [ -f "$top/$manifest" ] || die "nothing to uninstall: no $top/$manifest"
    inside=$(sed -n 's/^d //p' "$top/$manifest" | sort -r)
    above=$(sed -n 's/^p //p' "$top/$manifest" | sort -r)
    sed -n 's/^f //p' "$top/$manifest" | while IFS= read -r file; do
        rm -f "$top/$file"
    done
    rm -f "$top/$manifest"
    printf '%s\n' "$inside" | while IFS= read -r dir; do
        [ -z "$dir" ] || rmdir "$top/$dir" 2>/dev/null || true
    done
    printf '%s\n' "$above" | while IFS= read -r dir; do
        [ -z "$dir" ] || rmdir "$destdir$dir" 2>/dev/null || true
    done
}

if $uninstall; then
    remove
    echo "$me: removed eintrfix from $top"
    exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
[ -f "$here/bin/eintrfix" ] && [ -f "$here/lib/eintrfix/libeintrfix.so" ] ||
    die "run it from the unpacked tarball (no bin/eintrfix beside $0)"
[ ! -f "$top/$manifest" ] || remove

# What the install creates goes into the manifest as it goes ("d DIR",
# "f FILE", relative to the prefix), so a half-done install can be removed
# too; the entries made before the manifest's directory exists wait for it.
pending=
record() {
    if [ -d "$top/lib/eintrfix" ]; then
        printf '%s' "$pending" >>"$top/$manifest"
        pending=
        printf '%s\n' "$1" >>"$top/$manifest"
    else
        pending="$pending$1
"
    fi
}
# Creates each missing directory of DIR (relative to the prefix), parents
# first, recording it.
mkdirs() {
    case $1 in */*) [ -d "$top/${1%/*}" ] || mkdirs "${1%/*}" ;; esac
    [ -d "$top/$1" ] && return 0
    mkdir "$top/$1"
    record "d $1"
}
dir=$prefix
while [ -n "$dir" ] && [ ! -d "$destdir$dir" ]; do
    record "p $dir"
    dir=${dir%/*}
done
mkdir -p "$top"
mkdirs lib/eintrfix

for file in $(cd "$here" && find bin lib share -type f | sort) install.sh; do
    dest=$file
    [ "$file" != install.sh ] || dest=lib/eintrfix/install.sh
    mkdirs "${dest%/*}"
    mode=644
    [ ! -x "$here/$file" ] || mode=755
    cp "$here/$file" "$top/$dest.new"
    chmod "$mode" "$top/$dest.new"
    mv -f "$top/$dest.new" "$top/$dest"
    record "f $dest"
done
record "f $manifest"
echo "$me: installed eintrfix in $top"
echo "$me: check it with $top/bin/eintrfix --version; remove it with $top/lib/eintrfix/install.sh --uninstall${destdir:+ --destdir $destdir} --prefix $prefix"
