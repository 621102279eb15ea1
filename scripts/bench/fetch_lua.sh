#!/usr/bin/env bash
# Put the Lua 5.4.4 sources (34 TUs) in $ANCHORS_SRC/lua-5.4.4 (default /tmp/benchsrc), offline
# from Debian's mirror: the pristine upstream tarball of the source package lua5.4 (bookworm).
# When apt has no deb-src entries, a deb-src twin of the configured Debian 'deb' sources is added
# for the download and removed again (needs root). Prints the src/ directory on success.
set -euo pipefail
DEST=${ANCHORS_SRC:-/tmp/benchsrc}
SRC=$DEST/lua-5.4.4/src
if [ ! -f "$SRC/lapi.c" ]; then
  mkdir -p "$DEST"
  cd "$DEST"
  if ! apt-get source --download-only lua5.4 >/dev/null 2>&1; then
    extra=/etc/apt/sources.list.d/zccache-bench-deb-src.sources
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] && [ "$f" != "$extra" ] && sed 's/^Types: deb$/Types: deb-src/' "$f"
    done >"$extra"
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get source --download-only lua5.4 >/dev/null 2>&1 || {
      rm -f "$extra"
      echo "fetch_lua.sh: apt-get source lua5.4 failed" >&2
      exit 2
    }
    rm -f "$extra"
  fi
  tar xzf lua5.4_5.4.4.orig.tar.gz
fi
echo "$SRC"
