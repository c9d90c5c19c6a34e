"""Just enough C++ reading for hls4ml projects and scaling headers: comments, ``#define``, ``#include``, typedefs,
config structs, initialised arrays, a function body and the ``nnet::`` calls in it.

These are regular expressions over the text hls4ml writes (and what hand-written emulator headers look like),
not a C++ parser: what they cannot read is reported by the importer, naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "strip_comments",
    "defines",
    "includes",
    "typedefs",
    "Struct",
    "structs",
    "Array",
    "arrays",
    "function",
    "Call",
    "nnet_calls",
    "split_args",
]

_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_LINE_COMMENT = re.compile(r"//[^\n]*")
_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)\s+([^\n]+?)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
_TYPEDEF = re.compile(r"\btypedef\s+([^;{}]+?)\s+(\w+)\s*;")
_STRUCT = re.compile(r"\bstruct\s+(\w+)\s*(?::\s*(?:public\s+)?([\w:]+)\s*)?\{")
_STATIC = re.compile(r"\bstatic\s+const(?:expr)?\s+(?:unsigned|int|bool|float|double)\s+(\w+)\s*=\s*([^;]+);")
_USING = re.compile(r"\busing\s+(\w+)\s*=\s*([^;]+);")
_ARRAY = re.compile(r"([A-Za-z_][\w:<>, ]*?)\s+(\w+)\s*\[\s*([^\]]*?)\s*\]\s*=\s*\{([^{}]*)\}\s*;")
_CALL = re.compile(r"\bnnet::(\w+)\s*<([^;]*?)>\s*\(([^;]*?)\)\s*;[ \t]*(?://[ \t]*(\S+))?")


def strip_comments(text: str) -> str:
    """``text`` without ``/* */`` and ``//`` comments."""
    return _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub(" ", text))


def defines(text: str) -> dict[str, str]:
    """``#define NAME VALUE`` pairs (the last definition wins)."""
    return {m.group(1): m.group(2) for m in _DEFINE.finditer(strip_comments(text))}


def includes(text: str) -> list[str]:
    """Quoted ``#include "file"`` names, in order."""
    return [m.group(1) for m in _INCLUDE.finditer(strip_comments(text))]


def typedefs(text: str) -> dict[str, str]:
    """``typedef TYPE NAME;`` as NAME -> TYPE (whitespace normalised)."""
    return {m.group(2): " ".join(m.group(1).split()) for m in _TYPEDEF.finditer(strip_comments(text))}


def _matching_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced braces")


@dataclass
class Struct:
    """A config struct: its base, ``static const`` values, member typedefs and ``using`` aliases."""

    name: str
    base: str | None
    values: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


def structs(text: str) -> dict[str, Struct]:
    """Every ``struct NAME [: BASE] { ... };`` of ``text``."""
    clean = strip_comments(text)
    out: dict[str, Struct] = {}
    for m in _STRUCT.finditer(clean):
        body = clean[m.end() : _matching_brace(clean, m.end() - 1)]
        out[m.group(1)] = Struct(
            name=m.group(1),
            base=m.group(2),
            values={v.group(1): v.group(2).strip() for v in _STATIC.finditer(body)},
            types=typedefs(body),
            aliases={u.group(1): " ".join(u.group(2).split()) for u in _USING.finditer(body)},
        )
    return out


@dataclass
class Array:
    """An initialised array: element type, declared size (text) and the initialiser's entries (text)."""

    type: str
    name: str
    size: str
    values: list[str]


def arrays(text: str) -> dict[str, Array]:
    """Every ``TYPE NAME[SIZE] = { ... };`` of ``text`` (qualifiers like ``static const`` kept in the type)."""
    out = {}
    for m in _ARRAY.finditer(strip_comments(text)):
        values = [v.strip() for v in m.group(4).split(",")]
        if values and values[-1] == "":
            values.pop()  # trailing comma
        out[m.group(2)] = Array(" ".join(m.group(1).split()), m.group(2), m.group(3), values)
    return out


def function(text: str, name: str) -> tuple[str, str] | None:
    """(parameter list, body) of the definition of function ``name`` in ``text`` (comments kept in the body)."""
    for m in re.finditer(rf"\b{re.escape(name)}\s*\(([^)]*)\)\s*\{{", text):
        before = text[: m.start()].rstrip()
        if before.endswith("void") or re.search(r"\bvoid\s*$", before):
            return m.group(1), text[m.end() : _matching_brace(text, m.end() - 1)]
    return None


@dataclass
class Call:
    """One ``nnet::FUNCTION<TEMPLATE_ARGS>(ARGS);`` call and the layer name of its trailing ``// comment``."""

    function: str
    template_args: list[str]
    args: list[str]
    comment: str | None


def split_args(text: str) -> list[str]:
    """Split at top-level commas (not inside ``<>`` or ``()``)."""
    out: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        out.append("".join(current).strip())
    return out


def nnet_calls(body: str) -> list[Call]:
    """The ``nnet::`` calls of a function body, in order (``load_weights_from_txt`` and ``#ifdef``-guarded debug
    calls such as ``save_layer_output`` are returned too; the caller decides)."""
    return [Call(m.group(1), split_args(m.group(2)), split_args(m.group(3)), m.group(4)) for m in _CALL.finditer(body)]
