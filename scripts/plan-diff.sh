#!/usr/bin/env bash
# Credential-free plan diff of a git ref against the working tree, as Markdown on stdout.
#   scripts/plan-diff.sh BASE_REF [STACK...]        (default stacks: dev prod)
# The base is checked out in a temporary git worktree and planned there under the mock engine,
# with this checkout's virtualenv; the worktree is removed on exit.
set -euo pipefail

base_ref=${1:?usage: plan-diff.sh BASE_REF [STACK...]}
shift
stacks=("$@")
[ ${#stacks[@]} -gt 0 ] || stacks=(dev prod)

root=$(git rev-parse --show-toplevel)
py="$root/.venv/bin/python"
base_sha=$(git -C "$root" rev-parse --short "$base_ref^{commit}")
tmp=$(mktemp -d)
cleanup() {
  git -C "$root" worktree remove --force "$tmp/base" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
git -C "$root" worktree add --detach --quiet "$tmp/base" "$base_sha"
# The offline tooling moved from stacks/ to offline/; a base from before the move plans with its own.
base_tool=offline
[ -d "$tmp/base/offline" ] || base_tool=stacks

for stack in "${stacks[@]}"; do
  if [ -f "$tmp/base/Pulumi.$stack.yaml" ]; then
    # Run from the base checkout so its own stacks/, offline/ and components/ are the ones imported.
    (cd "$tmp/base" && "$py" -m "$base_tool" plan "$stack" --json "$tmp/base-$stack.json" >"$tmp/base-$stack.log" 2>&1) || {
      echo "plan of $stack at $base_ref failed:" >&2; cat "$tmp/base-$stack.log" >&2; exit 1; }
  else
    # A stack that is new in this change: everything in it is added.
    printf '{"stack": "%s", "resources": [], "outputs": {}}\n' "$stack" >"$tmp/base-$stack.json"
  fi
  (cd "$root" && "$py" -m offline plan "$stack" --json "$tmp/head-$stack.json" >"$tmp/head-$stack.log" 2>&1) || {
    echo "plan of $stack in the working tree failed:" >&2; cat "$tmp/head-$stack.log" >&2; exit 1; }
  "$py" -m offline diff "$tmp/base-$stack.json" "$tmp/head-$stack.json" \
    --base-label "$base_ref ($base_sha)" --head-label "working tree"
done
