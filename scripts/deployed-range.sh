#!/usr/bin/env bash
# The commit messages since the last successful deploy to a GitHub Environment, for the
# Stateful-Change trailers (change_review/stateful.py):
#   scripts/deployed-range.sh trustbase-eu-west-1 > build/commits.txt
# The range starts at the commit of the environment's newest deployment that ever reached the
# status success (GitHub records one deployment per job that names the environment), so a run that
# was superseded, rejected or failed leaves its trailers in the next run's range. With no successful
# deploy yet (a first deploy, or stacks deployed by hand before the pipeline), only the newest
# commit's trailers count: old trailers never approve a new change. A failing GitHub API call fails
# the script. Needs GH_TOKEN (deployments: read), GITHUB_REPOSITORY and a full clone
# (actions/checkout with fetch-depth: 0).
set -euo pipefail
environment="${1:?usage: scripts/deployed-range.sh <environment>}"
deployments="$(gh api --paginate "repos/$GITHUB_REPOSITORY/deployments?environment=$environment&per_page=100" \
  --jq '.[] | "\(.id) \(.sha)"')"
last=""
while read -r id sha; do
  [ -n "$id" ] || continue
  succeeded="$(gh api --paginate "repos/$GITHUB_REPOSITORY/deployments/$id/statuses?per_page=100" \
    --jq '.[] | select(.state == "success") | .id')"
  if [ -n "$succeeded" ]; then
    last="$sha"
    break
  fi
done <<< "$deployments"
if [ -z "$last" ]; then
  echo "no successful deploy to $environment yet: only the newest commit's trailers count" >&2
  git log -1 --format=%B HEAD
elif git cat-file -e "$last^{commit}" 2>/dev/null; then
  echo "trailers of the commits since the last deploy to $environment ($last)" >&2
  git log --format=%B "$last..HEAD"
else
  echo "the last deploy to $environment ($last) is not in this clone: fetch with fetch-depth: 0" >&2
  exit 1
fi
