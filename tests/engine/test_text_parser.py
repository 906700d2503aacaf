"""The simple_query_string parser."""

from stack.engine.text import _parse_text_query


def test_text_query_parser():
    groups = _parse_text_query('+alpha "Beta gamma"~2 -delta ep* | zeta~1')
    assert [[(c.words, c.phrase, c.prefix, c.negated) for c in group] for group in groups] == [
        [
            (("alpha",), False, False, False),
            (("beta", "gamma"), True, False, False),
            (("delta",), False, False, True),
            (("ep",), False, True, False),
        ],
        [(("zeta",), False, False, False)],
    ]
