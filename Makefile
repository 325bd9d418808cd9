# aural: two commands set everything up on a fresh machine.
#   make transcribe AUDIO=talk.mp3   installs the core (offline default model included) and transcribes
#   make test                        installs everything (torch CPU, extras, test tools) and runs the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
AUDIO ?=
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install install-dev transcribe test test-fast system-deps bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core-installed: pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

# torch goes first and pinned: the 2.13.0 CPU wheel; an unpinned torch pulls GBs of CUDA.
$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[all,test]'
	# reference implementation for the normaliser tests only; its own deps (triton...) are not needed
	$(PIP) install -q --no-deps openai-whisper==20250625
	# resemblyzer's pretrained speaker encoder (diarization): weights only, its own deps
	# (webrtcvad, the typing backport) are not needed
	$(PIP) install -q --no-deps resemblyzer==0.1.4
	# KenLM binaries (the `lm` extra) build from source: cmake and a C++ compiler, ~1 min
	$(PIP) install -q kenlm || echo "warning: kenlm did not build; KenLM binary tests will skip"
	touch $(VENV)/.core-installed $@

install: $(VENV)/.core-installed
install-dev: $(VENV)/.dev-installed

transcribe: $(VENV)/.core-installed
	@test -n "$(AUDIO)" || { echo "usage: make transcribe AUDIO=path/to/audio [ARGS='--format srt']"; exit 2; }
	$(VENV)/bin/aural transcribe $(AUDIO) $(ARGS)

# Chromium for the web-page test (Debian package; Playwright drives it, no browser download)
# and PostgreSQL for the job API's store tests.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will skip"; \
	  else echo "note: chromium not installed; browser tests will skip outside CI"; fi; }
	@# PostgreSQL for the job store tests (they start a throwaway cluster with initdb/pg_ctl)
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	      || echo "warning: could not install postgresql; PostgreSQL job-store tests will skip"; \
	  else echo "note: postgresql not installed; PostgreSQL job-store tests will skip"; fi; }

test: $(VENV)/.dev-installed system-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.dev-installed
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/transcribe_librispeech.py

# Guardrails (issue 17): ruff on src and tests, mypy on the public API modules, the
# import-layer contracts; all configured in pyproject.toml. LINT_IMPORTS=0 skips the
# contracts (.ci/run passes AURAL_LINT_IMPORTS, 0 until the engines refactor lands).
LINT_IMPORTS ?= 1

# Every check runs, so one pass shows all the failures; the target fails if any did.
lint: $(VENV)/.dev-installed
	@rc=0; \
	echo "ruff check src tests"; $(VENV)/bin/ruff check src tests || rc=1; \
	echo "mypy"; $(VENV)/bin/mypy || rc=1; \
	if [ "$(LINT_IMPORTS)" = 1 ]; then \
	  echo "lint-imports"; $(VENV)/bin/lint-imports --no-cache || rc=1; \
	else echo "lint-imports skipped (LINT_IMPORTS=$(LINT_IMPORTS))"; fi; \
	exit $$rc

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
