# Two set-up commands: `make run` and `make test`; both build .venv from requirements.txt first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

# Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the console chat.
run: $(STAMP)
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(PY) -m bot telegram; else $(PY) -m bot chat; fi

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache
