"""Console chat: the same Dialogue as the Telegram bot, in a terminal.

Buttons are shown as numbered choices; typing the number presses the button.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.dialogue.messages import Incoming, Reply
from delivery.telegram_html import html_to_text

CONSOLE_CHAT_ID = 0


def show(replies: list[Reply], out: TextIO) -> list[str]:
    """Print replies as plain text; return the button data in the order they were numbered."""
    choices: list[str] = []
    for reply in replies:
        print(html_to_text(reply.html), file=out)
        for row in reply.buttons:
            for button in row:
                if button.data:
                    choices.append(button.data)
                    print(f"  [{len(choices)}] {button.label}", file=out)
                elif button.url:
                    print(f"  {button.label}：{button.url}", file=out)
        if reply.document:
            print(f"  （文件：{reply.document.filename}）", file=out)
        print(file=out)
    return choices


def run_console(services, inp: TextIO | None = None, out: TextIO | None = None) -> int:
    inp = inp or sys.stdin
    out = out or sys.stdout
    dialogue = services.dialogue
    choices = show(dialogue.handle(Incoming(CONSOLE_CHAT_ID, CONSOLE_CHAT_ID, "/start")), out)
    print("（输入问题后回车；输入按钮前的数字可点选；/help 查看命令，/quit 退出）\n", file=out)
    while True:
        print("> ", end="", file=out, flush=True)
        line = inp.readline()
        if not line:  # end of input
            print(file=out)
            return 0
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(choices):
            msg = Incoming(CONSOLE_CHAT_ID, CONSOLE_CHAT_ID, callback=choices[int(text) - 1])
        else:
            msg = Incoming(CONSOLE_CHAT_ID, CONSOLE_CHAT_ID, text)
        replies = dialogue.handle(msg)
        choices = show(replies, out)
        if text.split("@")[0].lower() in ("/quit", "/exit"):
            return 0
