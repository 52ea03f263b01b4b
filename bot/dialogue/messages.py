"""The neutral message values that cross the boundary between the core and every channel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Incoming:
    chat_id: int
    user_id: int
    text: str = ""
    callback: str | None = None  # data of a pressed button
    private: bool = True         # a one-to-one chat; False in a group, where others read along


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None
    edit: bool = False  # replace the message whose button was pressed
    refs: tuple[str, ...] = ()  # the clauses an answer cites (for channels that show or log them)
    # More of the message whose button was pressed (查看原文): a channel that can shows it inside
    # that message; Telegram sends it as a new message.
    expand: bool = False
    # What the next typed message should be ("date"), so that a channel can offer a picker;
    # typing it stays possible everywhere.
    expects: str = ""
