#!/bin/sh
# The files `make synth` depends on: every tracked or new (not ignored) file that can change a
# template or a gate, i.e. everything outside tests/, bench/ and the docs. Prints FORCE (a target
# that is always out of date) when git cannot list them or a name has a space (make cannot hold it).
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo FORCE
  exit 0
fi
git ls-files --cached --others --exclude-standard -- . ':(exclude)tests' ':(exclude)bench' ':(exclude)*.md' \
  ':(exclude).github' ':(exclude).ci' ':(exclude).pre-commit-config.yaml' |
  while IFS= read -r f; do
    case "$f" in
      *' '*) echo FORCE ;;
      *) if [ -f "$f" ]; then echo "$f"; fi ;;
    esac
  done
