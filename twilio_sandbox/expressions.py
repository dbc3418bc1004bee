"""TaskRouter expressions (workflow filters, queue TargetWorkers) parsed and evaluated against attributes.

Grammar: OR / AND / NOT (any case), parentheses, comparisons `== != > < >= <= IN, NOT IN, HAS, CONTAINS`,
operands: dotted attribute paths, 'strings' / "strings", numbers, true/false/null, lists `[a, b]`.
A missing attribute is null: `ai != true` holds for a worker without `ai`, `ai == true` does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|>=|<=|>|<|=|\(|\)|\[|\]|,)
  | (?P<word>[A-Za-z_][\w.\-]*)
  )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "has", "contains", "true", "false", "null"}


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: str


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected character at {pos}: {text[pos : pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        tokens.append(_Tok(kind, value))
    return tokens


Node = tuple[Any, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("unexpected end of expression")
        self.i += 1
        return tok

    def accept(self, kind: str, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == kind and tok.value == value:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        if not self.toks:
            raise ExpressionError("empty expression")
        node = self.or_expr()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected token {self.peek().value!r}")  # type: ignore[union-attr]
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.accept("kw", "or"):
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.accept("kw", "and"):
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        tok = self.peek()
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if tok is not None and tok.kind == "kw" and tok.value == "not" and not (nxt and nxt.value == "in"):
            self.i += 1
            return ("not", self.not_expr())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        tok = self.peek()
        if tok is None:
            return ("truthy", left)
        if tok.kind == "op" and tok.value in ("==", "=", "!=", ">", "<", ">=", "<="):
            self.i += 1
            op = "==" if tok.value == "=" else tok.value
            return ("cmp", op, left, self.operand())
        if tok.kind == "kw" and tok.value in ("in", "has", "contains"):
            self.i += 1
            return ("cmp", tok.value, left, self.operand())
        if tok.kind == "kw" and tok.value == "not":
            self.i += 1
            if not self.accept("kw", "in"):
                raise ExpressionError("expected IN after NOT")
            return ("not", ("cmp", "in", left, self.operand()))
        return ("truthy", left)

    def operand(self) -> Node:
        tok = self.take()
        if tok.kind == "op" and tok.value == "(":
            node = self.or_expr()
            if not self.accept("op", ")"):
                raise ExpressionError("missing )")
            return ("group", node)
        if tok.kind == "op" and tok.value == "[":
            items: list[Node] = []
            if not self.accept("op", "]"):
                while True:
                    items.append(self.operand())
                    if self.accept("op", "]"):
                        break
                    if not self.accept("op", ","):
                        raise ExpressionError("expected , or ] in list")
            return ("list", items)
        if tok.kind == "num":
            return ("lit", float(tok.value) if "." in tok.value else int(tok.value))
        if tok.kind == "str":
            return ("lit", bytes(tok.value[1:-1], "utf-8").decode("unicode_escape"))
        if tok.kind == "kw" and tok.value in ("true", "false"):
            return ("lit", tok.value == "true")
        if tok.kind == "kw" and tok.value == "null":
            return ("lit", None)
        if tok.kind == "word":
            return ("path", tok.value.split("."))
        raise ExpressionError(f"unexpected token {tok.value!r}")


@lru_cache(maxsize=1024)
def parse(text: str) -> Node:
    """Parsed once per distinct expression: a task list filtered by EvaluateTaskAttributes evaluates the same
    expression against every task, and routing the same TargetWorkers against every worker. The tree is
    read-only."""
    return _Parser(text).parse()


def _value(node: Node, attrs: dict[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "list":
        return [_value(n, attrs) for n in node[1]]
    if kind == "path":
        cur: Any = attrs
        for key in node[1]:
            if not isinstance(cur, dict) or key not in cur:
                return None
            cur = cur[key]
        return cur
    return _eval(node, attrs)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        # Booleans also match their string spelling ("true"), as attributes set from forms often are.
        def norm(x: Any) -> Any:
            return str(x).lower() if isinstance(x, bool | str) else x

        return bool(norm(a) == norm(b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    if (isinstance(a, int | float) and isinstance(b, str)) or (isinstance(a, str) and isinstance(b, int | float)):
        return str(a) == str(b)
    return bool(a == b)


def _cmp(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return _eq(a, b)
    if op == "!=":
        return not _eq(a, b)
    if op in (">", "<", ">=", "<="):
        try:
            x, y = float(a), float(b)
        except (TypeError, ValueError):
            return False
        return {">": x > y, "<": x < y, ">=": x >= y, "<=": x <= y}[op]
    if op == "in":
        return isinstance(b, list) and any(_eq(a, item) for item in b)
    if op == "has":
        return isinstance(a, list) and any(_eq(item, b) for item in a)
    if op == "contains":
        if isinstance(a, str) and isinstance(b, str):
            return b in a
        return isinstance(a, list) and any(_eq(item, b) for item in a)
    raise ExpressionError(f"unknown operator {op}")


def _eval(node: Node, attrs: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "or":
        return _eval(node[1], attrs) or _eval(node[2], attrs)
    if kind == "and":
        return _eval(node[1], attrs) and _eval(node[2], attrs)
    if kind == "not":
        return not _eval(node[1], attrs)
    if kind == "group":
        return _eval(node[1], attrs)
    if kind == "cmp":
        return _cmp(node[1], _value(node[2], attrs), _value(node[3], attrs))
    if kind == "truthy":
        value = _value(node[1], attrs)
        return value is True or (isinstance(value, int | float) and not isinstance(value, bool) and value != 0)
    raise ExpressionError(f"bad node {kind}")


def evaluate(text: str, attrs: dict[str, Any]) -> bool:
    """True when `attrs` satisfy the expression; raises ExpressionError on a malformed expression."""
    return _eval(parse(text), attrs)


def check(text: str) -> None:
    parse(text)
