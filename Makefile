# The two commands: `make run` (serve everything on http://127.0.0.1:5000) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := postgresql chromium fonts-wqy-microhei faketime
HOST ?= 127.0.0.1
PORT ?= 5000
# test-far-date: the process's clock for the second run, and the machine's time zone for it
FAR_DATE ?= 2030-06-01 10:00:00
FAR_TZ ?= America/Los_Angeles

.PHONY: run test test-far-date lint bench system-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

## run: install what is needed, bring the SQLite schema up to date and serve the app; its start-up ends with the
## address, the sandbox chat and console links and the sandbox's console account
run: $(VENV)/.installed
	$(BIN)/flask --app bot db upgrade
	$(BIN)/flask --app bot run --host $(HOST) --port $(PORT)

## system-packages: as root on Debian, install PostgreSQL, Chromium and a CJK font when missing
system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "installing system packages: $$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null \
	      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; }; \
	  fi; \
	else \
	  echo "not root on Debian: system packages ($(SYSTEM_PACKAGES)) are not installed; tests that need them say so"; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## test: install everything, lint, run the suite on SQLite and on a throwaway PostgreSQL, then test-far-date
test: $(VENV)/.installed-dev system-packages lint
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-far-date

## test-far-date: the SQLite half again with the system clock at FAR_DATE and the machine in FAR_TZ (libfaketime),
## so that nothing depends on today's date, the hour or the time zone
test-far-date: $(VENV)/.installed-dev
	@if command -v faketime >/dev/null; then \
	  echo "the SQLite half under faketime '$(FAR_DATE)', TZ=$(FAR_TZ)"; \
	  BOT_TEST_NO_PG=1 TZ=$(FAR_TZ) FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH=$(CURDIR)/tests/faketime \
	    faketime '$(FAR_DATE)' \
	    $(BIN)/python -m pytest -q -rfE -p no:cacheprovider -m "not browser and not production_shape and not wall_clock"; \
	else \
	  echo "faketime is not installed (Debian package faketime; make test installs it as root): far-date run skipped"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts

## bench: the app under gunicorn against a bare-Flask floor, on SQLite and PostgreSQL; writes bench/results/<date>.md
bench: $(VENV)/.installed-dev system-packages
	$(BIN)/python bench/run.py
	$(BIN)/python bench/push_fanout.py --count 100000 --concurrency 32
	$(BIN)/python bench/console_queue.py --repeat 200
	$(BIN)/python bench/console_queue.py --repeat 200 --pg
