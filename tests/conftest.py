"""Suite-wide hooks: browser tests that could not run are reported in a banner, never silently."""

from __future__ import annotations

NOT_RUN: list[str] = []  # filled by tests/browser.py when Chromium or a Chinese font is missing


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if NOT_RUN:
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(f"BROWSER TESTS NOT RUN: {NOT_RUN[0]}", red=True, bold=True)
        terminalreporter.write_line("Run `make test` as root to install chromium, chromium-driver and "
                                    "fonts-wqy-microhei; with CI=1 these tests fail instead.", red=True, bold=True)
        terminalreporter.write_line(bar, red=True, bold=True)
