"""A cursor over DDL tokens with the few moves the hand-written parsers need."""

from __future__ import annotations

from dataclasses import dataclass

from dm.schema.lexer import T, Token


class ParseError(ValueError):
    """The statement is outside the grammar the parsers understand."""


@dataclass(frozen=True)
class NameRef:
    """A possibly qualified table (or database) name and its span in the statement."""

    schema: str | None
    name: str
    start: int
    end: int


class Cursor:
    def __init__(self, tokens: list[Token], pos: int = 0, end: int | None = None) -> None:
        self.tokens = tokens
        self.pos = pos
        self.end = len(tokens) if end is None else end

    def done(self) -> bool:
        return self.pos >= self.end

    def peek(self, ahead: int = 0) -> Token | None:
        i = self.pos + ahead
        return self.tokens[i] if i < self.end else None

    def at(self, *words: str) -> bool:
        """True if the next tokens are these keywords (or punctuation), in order."""
        for k, word in enumerate(words):
            tok = self.peek(k)
            if tok is None or tok.kind not in (T.WORD, T.PUNCT) or tok.value != word:
                return False
        return True

    def at_any(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in (T.WORD, T.PUNCT) and tok.value in words

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.pos += len(words)
            return True
        return False

    def accept_any(self, *words: str) -> bool:
        """Consume one keyword if it is any of `words`."""
        if self.at_any(*words):
            self.pos += 1
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            self.fail(f"expected {' '.join(words)}")

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ParseError("unexpected end of statement")
        self.pos += 1
        return tok

    def name(self) -> str:
        """An identifier, quoted or not."""
        tok = self.next()
        if not tok.is_name:
            self.pos -= 1
            self.fail("expected a name")
        return tok.text if tok.kind is T.WORD else tok.value

    def charset_name(self) -> str:
        """A character set or collation: a name, or a string (`CHARACTER SET='utf8mb4'`)."""
        tok = self.peek()
        if tok is not None and tok.kind is T.STRING:
            self.pos += 1
            return tok.value
        return self.name()

    def qualified(self) -> NameRef:
        """`name` or `schema`.`name`."""
        first = self.peek()
        a = self.name()
        if self.at(".") and (nxt := self.peek(1)) is not None and nxt.is_name:
            self.pos += 1
            b = self.name()
            assert first is not None
            return NameRef(a, b, first.start, self.tokens[self.pos - 1].end)
        assert first is not None
        return NameRef(None, a, first.start, first.end)

    def skip_group(self) -> None:
        """Skip one balanced parenthesised group; the cursor must be on its `(`."""
        self.expect("(")
        depth = 1
        while depth:
            tok = self.next()
            if tok.kind is T.PUNCT:
                depth += {"(": 1, ")": -1}.get(tok.value, 0)

    def skip_to(self, *stops: str) -> None:
        """Advance to the next top-level token in `stops` (or the end), skipping groups."""
        while not self.done() and not self.at_any(*stops):
            if self.at("("):
                self.skip_group()
            else:
                self.pos += 1

    def group_items(self) -> list[tuple[int, int]]:
        """Token ranges of the comma-separated items of the group at the cursor."""
        self.expect("(")
        items: list[tuple[int, int]] = []
        start = self.pos
        while True:
            self.skip_to(",", ")")
            items.append((start, self.pos))
            if self.accept(")"):
                return items
            self.expect(",")
            start = self.pos

    def fail(self, what: str) -> None:
        tok = self.peek()
        near = f"near {tok.text!r}" if tok else "at the end"
        raise ParseError(f"{what} {near}")
