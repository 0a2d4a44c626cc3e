#!/usr/bin/env bash
# The drift check of the CI templates (github/airlock-drift.yml, gitlab/airlock.gitlab-ci.yml):
# asks the registry and the cloud what they hold now and compares it with the stack's state,
# changing nothing (`pulumi refresh --preview-only --expect-no-changes`). Exit codes: 0 when
# nothing drifted; 7 (Pulumi's "changes where none were expected") when the registry or its
# configuration was changed by hand, with a Markdown report of the differences in REPORT for the
# CI to post; any other code when the check itself failed (credentials, backend, program), with
# that in REPORT too. Usage: drift-check.sh STACK REPORT [PROGRAM_DIR]
set -uo pipefail

stack=${1:?usage: drift-check.sh STACK REPORT [PROGRAM_DIR]}
report=${2:?usage: drift-check.sh STACK REPORT [PROGRAM_DIR]}
dir=${3:-.}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

pulumi refresh --preview-only --expect-no-changes --diff --non-interactive --color never \
  --stack "$stack" --cwd "$dir" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}

# GitHub issues and GitLab notes take about 64 KB: the end of a long log says most.
excerpt() { tail -c 60000 "$log"; }
case "$code" in
  0)
    printf 'No drift in stack `%s`: the registry and its cloud resources match the last `pulumi up`.\n' \
      "$stack" >"$report"
    ;;
  7)
    {
      printf '## Drift in stack `%s`\n\n' "$stack"
      printf 'Something was changed outside Pulumi. `pulumi refresh --preview-only` shows what differs '
      printf 'from the stack; `pulumi up` puts the declared values back, or change the stack file to keep '
      printf 'the new ones.\n\n<details><summary>pulumi refresh --preview-only</summary>\n\n```\n'
      excerpt
      printf '```\n\n</details>\n'
    } >"$report"
    ;;
  *)
    {
      printf '## The drift check of stack `%s` failed (exit code %s)\n\n```\n' "$stack" "$code"
      excerpt
      printf '```\n'
    } >"$report"
    ;;
esac
exit "$code"
