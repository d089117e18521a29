#!/bin/sh
# The --distro-file arguments for build_snapshot.py from a folder of recorded distro files:
# DIR/changelogs/*.gz (changelog.Debian.gz per package version) and DIR/DISTRO/SUITE/Packages.xz.
dir=${1:?usage: distro_inputs.sh DIR}
for f in "$dir"/changelogs/*.gz; do printf -- '--distro-file %s ' "$f"; done
for f in "$dir"/*/*/Packages.xz; do
  suite=$(basename "$(dirname "$f")"); distro=$(basename "$(dirname "$(dirname "$f")")")
  printf -- '--distro-file %s:%s=%s ' "$distro" "$suite" "$f"
done
