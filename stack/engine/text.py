"""Full text: the ``simple_query_string`` syntax argilla-server sends, and its scoring.

Text queries get a term-frequency score: each matched clause adds ``frequency / (frequency + 1.2)``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from stack.engine.values import Source

_WORD = re.compile(r"\w+")
_QUERY_PART = re.compile(r'([+-]?)"([^"]*)"?|(\S+)')


@dataclasses.dataclass(frozen=True)
class _TextClause:
    words: tuple[str, ...]
    phrase: bool = False
    prefix: bool = False
    negated: bool = False


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _parse_text_query(text: str) -> list[list[_TextClause]]:
    """Parse simple_query_string syntax into OR-ed groups of AND-ed clauses.

    Supported: words, ``"phrases"``, ``prefix*``, ``-excluded``, ``+required`` and ``|``. Parentheses
    are ignored and fuzziness/slop (``~N``) is dropped.
    """
    groups: list[list[_TextClause]] = [[]]
    for sign, phrase, term in _QUERY_PART.findall(text.replace("|", " | ")):
        if term == "|":
            groups.append([])
            continue
        if not term:
            clause = _TextClause(tuple(_tokens(phrase)), phrase=True, negated=sign == "-")
        else:
            bare = re.sub(r"~\d*$", "", term.strip("()"))
            words = _tokens(bare.lstrip("+-"))
            clause = _TextClause(tuple(words), prefix=bare.endswith("*"), negated=bare.startswith("-"))
        if clause.words:
            groups[-1].append(clause)
    return [group for group in groups if group]


def _text_leaves(source: Source, patterns: list[str]) -> list[list[str]]:
    """The tokens of every string whose dotted path matches one of the field patterns."""

    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, path)
        elif isinstance(node, str):
            yield path, node

    return [_tokens(text) for path, text in walk(source, "") if any(fnmatchcase(path, p) for p in patterns)]


def _clause_frequency(clause: _TextClause, leaves: list[list[str]]) -> int:
    if clause.phrase:
        size = len(clause.words)
        return sum(
            1
            for tokens in leaves
            for start in range(len(tokens) - size + 1)
            if tuple(tokens[start : start + size]) == clause.words
        )
    last = len(clause.words) - 1
    counts = [
        sum(
            1
            for tokens in leaves
            for token in tokens
            if token == word or (clause.prefix and index == last and token.startswith(word))
        )
        for index, word in enumerate(clause.words)
    ]
    return min(counts)


def _group_score(group: list[_TextClause], leaves: list[list[str]]) -> float | None:
    score = 0.0
    for clause in group:
        frequency = _clause_frequency(clause, leaves)
        if clause.negated:
            if frequency:
                return None
        elif not frequency:
            return None
        else:
            score += frequency / (frequency + 1.2)
    return score or 1.0


def _simple_query_string(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    patterns = [field.split("^")[0] for field in params.get("fields", ["*"])]
    leaves = _text_leaves(source, patterns)
    scores = [
        score for group in _parse_text_query(str(params["query"])) if (score := _group_score(group, leaves))
    ]
    return sum(scores) if scores else None
