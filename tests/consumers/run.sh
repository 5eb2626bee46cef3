#!/usr/bin/env bash
# Builds the README's first program (examples/quick_start.cpp) the three ways another project can
# use forkline, and runs each against its golden output:
#   cmake      find_package(forkline CONFIG) on a `meson install --destdir` tree;
#   pkg-config plain g++ with `pkg-config --cflags --libs forkline` on the same tree;
#   meson      forkline as a subproject found through its wrap file's [provide].
# usage: run.sh SOURCE_DIR BUILD_DIR [cmake|pkg-config|meson ...]
set -uo pipefail
src=$(cd "$1" && pwd); build=$(cd "$2" && pwd); shift 2
ways=("$@")
(( ${#ways[@]} > 0 )) || ways=(cmake pkg-config meson)

tmp=$(mktemp -d /tmp/forkline-consumers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
golden=$src/examples/golden/quick_start.txt
failed=0
# check WAY PROGRAM: runs it (with the installed library on the loader's path) against the golden.
check() {
  local way=$1 program=$2 out
  if ! out=$(LD_LIBRARY_PATH=$libdir "$program" 2>&1); then
    echo "$way: $program failed: $out"; failed=1; return
  fi
  if diff -u "$golden" <(printf '%s\n' "$out"); then echo "$way: ok"; else echo "$way: wrong output"; failed=1; fi
}
# project WAY: a consumer project's folder, holding its build file and the program.
project() {
  mkdir -p "$tmp/$1" && cp "$src/examples/quick_start.cpp" "$tmp/$1/" && echo "$tmp/$1"
}

prefix=$(meson introspect "$build" --buildoptions | python3 -c '
import json, sys
print({o["name"]: o["value"] for o in json.load(sys.stdin)}["prefix"])')
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; exit 1; }
root=$tmp/root$prefix
libdir=$(dirname "$(find "$root" -name 'libforkline.so*' -print -quit)")
[[ -d $libdir ]] || { echo "meson install put no libforkline under $root"; exit 1; }
for tool in forkline-shm forkline-top; do
  [[ -x $root/bin/$tool ]] || { echo "meson install put no $tool in $root/bin"; exit 1; }
done

for way in "${ways[@]}"; do
  case $way in
    cmake)
      dir=$(project cmake); cp "$src/tests/consumers/cmake/CMakeLists.txt" "$dir/"
      if cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$root" -DCMAKE_BUILD_TYPE=Release \
           >"$dir/log" 2>&1 && cmake --build "$dir/build" >>"$dir/log" 2>&1; then
        check cmake "$dir/build/quick_start"
      else
        cat "$dir/log"; echo "cmake: did not build"; failed=1
      fi ;;
    pkg-config)
      dir=$(project pkg-config)
      # The .pc file names the prefix it was installed for; the sysroot is where that tree is now.
      if flags=$(PKG_CONFIG_PATH=$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$tmp/root pkg-config --cflags --libs forkline) &&
         g++ -O2 "$dir/quick_start.cpp" -o "$dir/quick_start" $flags >"$dir/log" 2>&1; then
        check pkg-config "$dir/quick_start"
      else
        cat "$dir/log" 2>/dev/null; echo "pkg-config: did not build"; failed=1
      fi ;;
    meson)
      dir=$(project meson); cp "$src/tests/consumers/meson/meson.build" "$dir/"
      mkdir -p "$dir/subprojects/forkline"
      # What `meson subprojects download` would leave: the wrap file and the checkout it names.
      printf '[wrap-git]\nurl = %s\nrevision = HEAD\n\n[provide]\nforkline = forkline_dep\n' "$src" \
        >"$dir/subprojects/forkline.wrap"
      tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$dir/subprojects/forkline" -xf -
      if meson setup "$dir/build" "$dir" --wrap-mode=nodownload >"$dir/log" 2>&1 &&
         meson compile -C "$dir/build" >>"$dir/log" 2>&1; then
        check meson "$dir/build/quick_start"
      else
        cat "$dir/log"; echo "meson: did not build"; failed=1
      fi ;;
    *) echo "no way '$way' (cmake, pkg-config, meson)" >&2; exit 2 ;;
  esac
done
exit $failed
