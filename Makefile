# Two set-up commands: `make run` and `make test`; both build .venv from requirements.txt and
# pyproject.toml first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

# requirements.txt pins what was tested; the project itself goes in editable, without its own
# dependency resolution, only to install the `tiedui` command (pyproject.toml [project.scripts]).
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e . --no-deps
	@touch $(STAMP)

# Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the console chat.
run: $(STAMP)
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(VENV)/bin/tiedui telegram; else $(VENV)/bin/tiedui chat; fi

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info
