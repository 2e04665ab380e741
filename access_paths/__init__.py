"""Access paths proven before deploy.

`evaluator` is a small, self-contained IAM policy evaluator (AWS's documented evaluation logic);
`assembly` reads a synthesized cloud assembly with every intrinsic and SSM link resolved;
`model` finds the policies that apply to one request; `table` declares every intended and
forbidden path; `gate` evaluates the table over every region and reports what is wrong.
"""
