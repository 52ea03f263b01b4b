# Two set-up commands: `make run` and `make test`; both build .venv from requirements.txt and
# pyproject.toml first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench clean browser

# requirements.txt pins what was tested; the project itself goes in editable, without its own
# dependency resolution, only to install the `tiedui` command (pyproject.toml [project.scripts]).
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e . --no-deps
	@touch $(STAMP)

# The web chat, and the Telegram bot in the same process when TELEGRAM_BOT_TOKEN is set.
run: $(STAMP)
	$(VENV)/bin/tiedui web

test: $(STAMP) browser
	$(PY) -m pytest -q

# The browser tests drive Debian's Chromium with Chinese and emoji fonts. Root (CI) installs them
# when missing; anyone else gets a loud note, and the tests report themselves as not run (they
# fail when CI is set).
BROWSER_PACKAGES := chromium chromium-driver fonts-wqy-microhei fonts-noto-color-emoji
browser:
	@if [ -x /usr/bin/chromium ] && fc-list :lang=zh family 2>/dev/null | grep -q . \
	    && fc-list 2>/dev/null | grep -qi "color emoji"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing $(BROWSER_PACKAGES) for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	else \
	    echo "*** /usr/bin/chromium or its fonts are missing and only root can install them: the browser tests will NOT run ***"; \
	fi

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info
