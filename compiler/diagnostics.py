"""Diagnostics: located, rendered compile errors (file:line:col, source line, caret, hint)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Span(NamedTuple):
    """A source range; lines and columns are 1-based, end is exclusive. A named tuple:
    every AST node and IR op has one, and a tuple is made at half a frozen dataclass's cost."""

    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


UNKNOWN_SPAN = Span(0, 0)


@dataclass
class Diagnostic:
    message: str
    span: Span
    hint: str = ""
    severity: str = "error"

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def render(self, source: str, filename: str) -> str:
        head = f"{filename}:{self.span.line}:{self.span.col}: {self.severity}: {self.message}"
        lines = source_lines(source)
        out = [head]
        if 1 <= self.span.line <= len(lines):
            text = lines[self.span.line - 1].translate(_CONTROL_PICTURES)
            width = 1
            if self.span.end_line == self.span.line and self.span.end_col > self.span.col:
                width = self.span.end_col - self.span.col
            lineno = f"{self.span.line:>5} | "
            col = max(self.span.col - 1, 0)
            if len(text) > MAX_SHOWN:  # a window of a long line, the caret's start in it
                lo = max(0, min(col - MAX_SHOWN // 4, len(text) - MAX_SHOWN))
                lead = "..." if lo else ""
                width = min(width, MAX_SHOWN - (col - lo))
                text = lead + text[lo:lo + MAX_SHOWN] + ("..." if lo + MAX_SHOWN < len(text) else "")
                col += len(lead) - lo
            out.append(lineno + text)
            out.append(" " * (len(lineno) + col) + "^" + "~" * (width - 1))
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


def source_lines(source: str) -> list[str]:
    """The lines of a source as the lexer counts them, at "\n" only (a "\r" before it
    dropped): str.splitlines() also breaks at \f, \v, \x1c-\x1e, \x85 and \u2028/9,
    which a comment may hold, and then numbered the lines after it wrongly."""
    return [line.removesuffix("\r") for line in source.split("\n")]


MAX_SHOWN = 100  # characters of a source line shown with a diagnostic
# control characters shown as their Unicode pictures (one column each, so the caret stays
# aligned): printed raw, a \r, \b or \x1b rewrote the terminal line and hid the error
_CONTROL_PICTURES = {c: 0x2400 + c for c in range(32)} | {127: 0x2421}


@dataclass
class CompileError(Exception):
    """Raised for any problem in M-CODE source; carries every diagnostic found."""

    diagnostics: list[Diagnostic]
    source: str = ""
    filename: str = "<string>"
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [d.render(self.source, self.filename) for d in self.diagnostics]
        n = len(self.diagnostics)
        if n > 1:
            parts.append(f"{n} errors")
        return "\n".join(parts)


class DiagnosticSink:
    """Collects diagnostics so a pass can report several errors at once."""

    def __init__(self, source: str, filename: str) -> None:
        self.source = source
        self.filename = filename
        self.items: list[Diagnostic] = []

    def error(self, message: str, span: Span, hint: str = "") -> None:
        self.items.append(Diagnostic(message, span, hint))

    def raise_if_any(self) -> None:
        if self.items:
            ordered = sorted(self.items, key=lambda d: (d.span.line, d.span.col))
            raise CompileError(ordered, self.source, self.filename)

    def fail(self, message: str, span: Span, hint: str = "") -> CompileError:
        """An error that stops the current pass right away."""
        self.error(message, span, hint)
        ordered = sorted(self.items, key=lambda d: (d.span.line, d.span.col))
        return CompileError(ordered, self.source, self.filename)
