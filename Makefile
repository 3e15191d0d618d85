# Active-labeling workflow: one entry point for building, testing and running.
# `make run` and `make test` are the two commands a newcomer needs (see README.md).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
ARGS ?=

# The Lambda runtime the zips are built for (must match terraform var.lambda_runtime / var.lambda_architecture).
LAMBDA_PYTHON ?= 3.12
LAMBDA_ARCH ?= x86_64
WHEEL_PLATFORM := manylinux2014_$(subst arm64,aarch64,$(LAMBDA_ARCH))
WHEELHOUSE := build/wheelhouse/py$(LAMBDA_PYTHON)-$(LAMBDA_ARCH)
LAMBDA_RUNTIME_SITE := build/lambda-runtime/python
EMBEDDING_MODEL := build/embedding-model
SAGEMAKER_DIR := containers/text-classifier/sagemaker
SOURCE_ARCHIVE := build/sagemaker/text-classifier-source.tar.gz
VENDOR_WHEELS := build/sagemaker/vendor-wheels
INSTALL_WHEELS := build/sagemaker/install-wheels
SKLEARN_IMAGE_VENV := build/sagemaker-sklearn-image
# The scikit-learn framework image's Python and platform (Ubuntu 24.04, x86_64), for what the archive vendors.
SKLEARN_IMAGE_PYTHON := 3.12
SKLEARN_IMAGE_PLATFORMS := manylinux_2_28_x86_64+manylinux2014_x86_64

FUNCTIONS := $(sort $(patsubst functions/%/handler.py,%,$(wildcard functions/*/handler.py)))
ZIPS := $(FUNCTIONS:%=build/lambda/%.zip)
SHARED_SOURCES := $(wildcard functions/shared/labeling_common/*.py) $(wildcard schemas/*.schema.json)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# --- environment ---------------------------------------------------------------------------------

# --no-compile on every install `make run` and `make test` do (this one, the image's venv, checkov's): pip
# byte-compiles every module it installs (torch's included), which took more than half of the dev venv's two
# minutes; Python compiles what is imported, once, on first import.
$(VENV)/.installed: requirements/dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check --no-compile --require-hashes -r requirements/dev.lock
	$(PIP) install --quiet --disable-pip-version-check --no-deps --editable .  # the `labeler` command
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the project virtualenv from requirements/dev.lock

.PHONY: lock
lock: ## Re-resolve requirements/dev.txt into requirements/dev.lock (every file of each pinned release hashed)
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/pip install --quiet -r requirements/dev.txt
	build/lock-venv/bin/pip freeze --exclude-editable > build/lock-venv/frozen.txt
	build/lock-venv/bin/pip install --quiet pip-tools==7.6.2
	# pip-compile re-resolves the frozen pins (the same versions) and adds the sha256 of every file the
	# index has for each release, every platform's included, so the lock stays usable beyond this machine.
	build/lock-venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --no-header --no-annotate --strip-extras --no-emit-index-url --no-emit-find-links \
	  -o requirements/dev.lock build/lock-venv/frozen.txt

# --- Lambda packaging ----------------------------------------------------------------------------

# Wheels only, and only the files a list names (each list pins its dependencies itself).
PIP_DOWNLOAD = $(PIP) download --quiet --disable-pip-version-check --no-deps --only-binary=:all:

$(WHEELHOUSE)/.done: functions/requirements.txt | $(VENV)/.installed
	rm -rf $(WHEELHOUSE) && mkdir -p $(WHEELHOUSE)
	$(PIP_DOWNLOAD) --require-hashes \
	  --platform $(WHEEL_PLATFORM) --python-version $(LAMBDA_PYTHON) --implementation cp \
	  -r functions/requirements.txt -d $(WHEELHOUSE)
	touch $@

LAMBDA_PYTHONS := 3.11 3.12 3.13
LAMBDA_PLATFORMS := manylinux2014_x86_64 manylinux2014_aarch64
# The container's base image, python:3.11-slim (Debian 12, glibc 2.36), on x86_64: the CPython of the
# development venv, for which the CPU build of torch that both install exists.
CONTAINER_PYTHON := 3.11
CONTAINER_PLATFORMS := manylinux_2_28_x86_64+manylinux2014_x86_64

# pin-hashes FILE PYTHONS PLATFORMS: download every wheel FILE may install, for each Python and platform,
# and rewrite FILE's --hash lines from them. A platform may be several tags joined by + (one machine that
# takes wheels of either tag).
define pin-hashes
	rm -rf build/pin-hashes && mkdir -p build/pin-hashes
	sed '/--hash=/d; s/ \\$$//' $(1) > build/pin-hashes/requirements.txt
	for py in $(2); do for platform in $(3); do \
	  $(PIP_DOWNLOAD) \
	    --platform $$(echo $$platform | sed 's/+/ --platform /g') --python-version $$py --implementation cp \
	    -r build/pin-hashes/requirements.txt -d build/pin-hashes/$$py-$$platform; \
	done; done
	$(PY) functions/pin_hashes.py $(1) build/pin-hashes
endef

.PHONY: pin-hashes
pin-hashes: $(VENV)/.installed ## Re-pin the --hash lines of the Lambda and container requirements (after a version change)
	$(call pin-hashes,functions/requirements.txt,$(LAMBDA_PYTHONS),$(LAMBDA_PLATFORMS))
	$(call pin-hashes,containers/text-classifier/requirements.txt,$(CONTAINER_PYTHON),$(CONTAINER_PLATFORMS))
	$(call pin-hashes,$(SAGEMAKER_DIR)/vendor.txt,$(SKLEARN_IMAGE_PYTHON),$(SKLEARN_IMAGE_PLATFORMS))
	$(call pin-hashes,$(SAGEMAKER_DIR)/image-libraries.txt,$(SKLEARN_IMAGE_PYTHON),$(SKLEARN_IMAGE_PLATFORMS))
	$(call pin-hashes,$(SAGEMAKER_DIR)/install-wheels.txt,$(SKLEARN_IMAGE_PYTHON),$(SKLEARN_IMAGE_PLATFORMS))

.PHONY: wheelhouse
wheelhouse: $(WHEELHOUSE)/.done ## Download the Lambda runtime's third-party wheels

.SECONDEXPANSION:
build/lambda/%.zip: $$(wildcard functions/$$*/*.py) $(SHARED_SOURCES) functions/build_zip.py $(WHEELHOUSE)/.done
	$(PY) functions/build_zip.py $* --wheelhouse $(WHEELHOUSE) --out-dir build/lambda

build/lambda/build-info.json: $(ZIPS)
	printf '{"python": "%s", "architecture": "%s"}\n' "$(LAMBDA_PYTHON)" "$(LAMBDA_ARCH)" > $@

.PHONY: build
build: $(ZIPS) build/lambda/build-info.json $(SOURCE_ARCHIVE) ## Build what Terraform deploys: the Lambda zips, the model's source archive

# The bundled model's sentence-embedding model, exported to ONNX from the weights in the dev venv (byte-
# reproducible): what the container, the SageMaker source archive and local mode run.
$(EMBEDDING_MODEL)/.done: containers/text-classifier/export_embedding_model.py requirements/dev.lock | $(VENV)/.installed
	rm -rf $(EMBEDDING_MODEL)
	$(PY) containers/text-classifier/export_embedding_model.py $(EMBEDDING_MODEL)
	touch $@

.PHONY: embedding-model
embedding-model: $(EMBEDDING_MODEL)/.done ## Export all-MiniLM-L6-v2 to ONNX under build/embedding-model/

# The bundled preset's script-mode source archive (build_source_archive.py): code, embedding model, and the
# wheels the scikit-learn image lacks, for its Python. Byte-reproducible; Terraform uploads it by its hash.
$(VENDOR_WHEELS)/.done: $(SAGEMAKER_DIR)/vendor.txt $(SAGEMAKER_DIR)/install-wheels.txt | $(VENV)/.installed
	rm -rf $(VENDOR_WHEELS) $(INSTALL_WHEELS) && mkdir -p $(VENDOR_WHEELS) $(INSTALL_WHEELS)
	$(PIP_DOWNLOAD) --require-hashes \
	  --platform $(subst +, --platform ,$(SKLEARN_IMAGE_PLATFORMS)) --python-version $(SKLEARN_IMAGE_PYTHON) \
	  --implementation cp -r $(SAGEMAKER_DIR)/vendor.txt -d $(VENDOR_WHEELS)
	$(PIP_DOWNLOAD) --require-hashes \
	  --python-version $(SKLEARN_IMAGE_PYTHON) --implementation cp -r $(SAGEMAKER_DIR)/install-wheels.txt -d $(INSTALL_WHEELS)
	touch $@

$(SOURCE_ARCHIVE): $(wildcard containers/text-classifier/text_classifier/*.py) $(SAGEMAKER_DIR)/train.py \
		$(SAGEMAKER_DIR)/inference.py $(SAGEMAKER_DIR)/image-libraries.txt containers/text-classifier/build_source_archive.py \
		functions/build_zip.py $(VENDOR_WHEELS)/.done $(EMBEDDING_MODEL)/.done
	$(PY) containers/text-classifier/build_source_archive.py --vendor-wheels $(VENDOR_WHEELS) \
	  --embedding-model $(EMBEDDING_MODEL) --install-wheels $(INSTALL_WHEELS) --out $@

.PHONY: source-archive
source-archive: $(SOURCE_ARCHIVE) ## Build the bundled preset's SageMaker source archive

# Local mode's stand-in for the scikit-learn image: its Python with exactly its libraries.
$(SKLEARN_IMAGE_VENV)/.done: $(SAGEMAKER_DIR)/image-libraries.txt | $(VENV)/.installed
	rm -rf $(SKLEARN_IMAGE_VENV)
	$$($(PY) -c 'from local.embedded_aws.lambda_runtime import resolve_python; print(resolve_python("python$(SKLEARN_IMAGE_PYTHON)"))') \
	  -m venv $(SKLEARN_IMAGE_VENV)
	$(SKLEARN_IMAGE_VENV)/bin/pip install --quiet --disable-pip-version-check --no-compile --no-deps --only-binary=:all: \
	  --require-hashes -r $(SAGEMAKER_DIR)/image-libraries.txt
	touch $@

.PHONY: sagemaker-sklearn-image
sagemaker-sklearn-image: $(SKLEARN_IMAGE_VENV)/.done ## Local mode's scikit-learn image: Python 3.12 with its libraries

# What the Lambda runtime itself provides (boto3 and its pure-Python dependencies), for local mode.
$(LAMBDA_RUNTIME_SITE)/.done: requirements/dev.lock | $(VENV)/.installed
	rm -rf $(LAMBDA_RUNTIME_SITE)
	awk '/^[A-Za-z]/ { keep = ($$0 ~ /^(boto3|botocore|s3transfer|jmespath|urllib3|python-dateutil|six)==/) } keep' requirements/dev.lock > build/lambda-runtime.txt
	$(PIP) install --quiet --disable-pip-version-check --require-hashes --no-deps --no-compile --target $(LAMBDA_RUNTIME_SITE) -r build/lambda-runtime.txt
	rm -rf $(LAMBDA_RUNTIME_SITE)/bin
	touch $@

.PHONY: lambda-runtime
lambda-runtime: $(LAMBDA_RUNTIME_SITE)/.done ## Build the local stand-in for the Lambda runtime's boto3

# --- Terraform -----------------------------------------------------------------------------------
# A filesystem mirror of the providers is used where the machine has one (no registry access here);
# elsewhere Terraform uses the registry as usual.
TF_PLUGIN_MIRROR ?= $(firstword $(wildcard /opt/tf-plugins))
TF_RC := build/terraform/terraform.rc
TF := TF_DATA_DIR=$(abspath build/terraform/data) TF_CLI_CONFIG_FILE=$(abspath $(TF_RC)) TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 terraform -chdir=terraform
CHECKOV_VERSION ?= 3.3.30
CHECKOV := build/tools/checkov/bin/checkov

$(TF_RC):
	mkdir -p $(@D)
	$(if $(TF_PLUGIN_MIRROR),printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\n' '$(TF_PLUGIN_MIRROR)',echo '# providers from the registry') > $@

.PHONY: tf-init
tf-init: $(TF_RC) ## terraform init (local provider mirror if any; lock file read-only)
	$(TF) init -backend=false -input=false -lockfile=readonly

.PHONY: tf-fmt
tf-fmt: $(TF_RC) ## terraform fmt -check
	$(TF) fmt -check -recursive -diff

.PHONY: tf-validate
tf-validate: tf-init ## terraform validate
	$(TF) validate

.PHONY: tf-test
tf-test: $(VENV)/.installed build ## terraform fmt/validate/test (mock provider) + MODEL_CONFIG schema checks
	$(PY) -m pytest tests/terraform/test_terraform.py $(ARGS)

# checkov has its own virtualenv: its dependencies conflict with the project's boto3.
$(CHECKOV):
	$(PYTHON) -m venv build/tools/checkov
	build/tools/checkov/bin/pip install --quiet --disable-pip-version-check --no-compile checkov==$(CHECKOV_VERSION)

.PHONY: checkov
checkov: $(VENV)/.installed $(CHECKOV) ## checkov on terraform/: 0 failed, every skip justified inline
	CHECKOV=$(abspath $(CHECKOV)) $(PY) -m pytest tests/terraform/test_checkov.py $(ARGS)

.PHONY: tf-apply-local
tf-apply-local: $(VENV)/.installed build lambda-runtime $(CHECKOV) ## a real terraform apply + destroy against the embedded AWS
	CHECKOV=$(abspath $(CHECKOV)) $(PY) -m pytest tests/terraform/test_apply_local.py $(ARGS)

# --- local mode ----------------------------------------------------------------------------------

.PHONY: run
run: $(VENV)/.installed build lambda-runtime sagemaker-sklearn-image ## The whole workflow locally on the bundled sample (ARGS='--size 2000 ...')
	$(PY) -m local.run $(ARGS)

.PHONY: bench
bench: $(VENV)/.installed build lambda-runtime sagemaker-sklearn-image ## Labeling efficiency over seeded samples (ARGS='--seeds 5 --strategy margin,aws_sample')
	$(PY) -m local.bench $(ARGS)

.PHONY: bench-scale
bench-scale: $(VENV)/.installed build lambda-runtime ## Every manifest Lambda on a 1M-line manifest: seconds and peak memory (ARGS='--lines N')
	$(PY) -m local.bench_scale $(ARGS)

.PHONY: label
label: $(VENV)/.installed ## The labeling page for a small team (ARGS='[--endpoint-url URL] [--port 8000] s3://BUCKET/RUN/')
	$(VENV)/bin/labeler serve $(ARGS)

.PHONY: status
status: $(VENV)/.installed ## Where a run stands (ARGS='[--endpoint-url URL] s3://BUCKET/RUN/ [--watch 30] [--json]')
	$(VENV)/bin/labeler status $(ARGS)

.PHONY: report
report: $(VENV)/.installed ## A run's HTML report, finished or not (ARGS='[--endpoint-url URL] s3://BUCKET/RUN/ [--out report.html]')
	$(VENV)/bin/labeler report $(ARGS)

.PHONY: request
request: $(VENV)/.installed ## Write a validated execution input (ARGS='--manifest s3://… --labels s3://… --output s3://… --out request.json')
	$(VENV)/bin/labeler request $(ARGS)

# --- quality -------------------------------------------------------------------------------------

.PHONY: lint
lint: $(VENV)/.installed ## ruff lint and format check on all Python code
	$(VENV)/bin/ruff check functions local containers labeler tests
	$(VENV)/bin/ruff format --check functions local containers labeler tests

# pytest-xdist on every core; a file's tests stay on one worker, so an end-to-end file's tests share one
# deployment of the local workflow, and files go out in collection order (tests/conftest.py puts the longest first)
# rather than xdist's default of the files with the most tests first
.PHONY: test
test: $(VENV)/.installed build lambda-runtime sagemaker-sklearn-image $(CHECKOV) lint ## Everything CI runs (see docs/development.md "Tests")
	CHECKOV=$(abspath $(CHECKOV)) $(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder $(ARGS)

.PHONY: test-fast
test-fast: $(VENV)/.installed ## The inner loop: pure logic, handlers under moto, schemas, ASL, labeler (no slow layer)
	$(PY) -m pytest -n auto -m "not (e2e or emulator or container or flow or packaging or terraform)" $(ARGS)

.PHONY: clean
clean: ## Remove build outputs (keeps the virtualenv)
	rm -rf build .pytest_cache .ruff_cache
