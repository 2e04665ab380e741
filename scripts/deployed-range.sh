#!/usr/bin/env bash
# The commit messages since the last successful deploy to a GitHub Environment, for the
# Stateful-Change trailers (change_review/stateful.py):
#   scripts/deployed-range.sh trustbase-eu-west-1 > build/commits.txt
# The range starts at the commit of the environment's newest deployment whose latest status is
# success (GitHub records one per job that names the environment), so a run that was superseded,
# rejected or failed leaves its trailers in the next run's range. Without such a deployment (the
# first deploy) every commit counts. Needs GH_TOKEN (deployments: read), GITHUB_REPOSITORY and a
# full clone (actions/checkout with fetch-depth: 0).
set -euo pipefail
environment="${1:?usage: scripts/deployed-range.sh <environment>}"
last=""
while read -r id sha; do
  state="$(gh api "repos/$GITHUB_REPOSITORY/deployments/$id/statuses?per_page=1" --jq '.[0].state // ""')"
  if [ "$state" = success ]; then
    last="$sha"
    break
  fi
done < <(gh api "repos/$GITHUB_REPOSITORY/deployments?environment=$environment&per_page=100" \
  --jq '.[] | "\(.id) \(.sha)"')
if [ -n "$last" ] && git cat-file -e "$last^{commit}" 2>/dev/null; then
  echo "trailers of the commits since the last deploy to $environment ($last)" >&2
  git log --format=%B "$last..HEAD"
else
  echo "no successful deploy to $environment yet: the trailers of every commit count" >&2
  git log --format=%B HEAD
fi
