"""The al-curve benchmark runs end to end on a tiny corpus and writes JSON of its documented shape.

It measures; these tests check only that it works, never the numbers.
"""

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from bench.__main__ import app

TOPICS = {
    "sport": ["the team won the match", "a goal in the final minute", "the striker scored twice"],
    "food": ["a recipe for fresh bread", "the soup needs more salt", "bake the cake for an hour"],
    "tech": ["the laptop battery died", "a new phone operating system", "the server crashed again"],
}
KEYS = {"backend", "strategy", "seed", "labels", "accuracy", "update_s", "query_s"}


def tiny_dataset(folder: Path) -> list[str]:
    """Train and test CSVs of a three-topic corpus; the options that point al-curve at them."""
    rows = [
        {"text": f"{sentence} {variant}", "label": label}
        for variant in ("", "today", "again", "they said")
        for label, sentences in TOPICS.items()
        for sentence in sentences
    ]
    pd.DataFrame(rows).to_csv(folder / "train.csv", index=False)
    pd.DataFrame(rows[:9]).to_csv(folder / "test.csv", index=False)
    return ["--dataset", str(folder / "train.csv"), "--test", str(folder / "test.csv")]


def al_curve(*args: str) -> None:
    result = CliRunner().invoke(app, ["al-curve", *args])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"


def test_curves_of_the_configuration_and_random(tmp_path: Path) -> None:
    out = tmp_path / "al-curve.json"
    tiny = ["--batch-size", "4", "--max-labels", "12", "--seeds", "2", "--device", "cpu"]
    al_curve(*tiny_dataset(tmp_path), *tiny, "--backend", "hybrid", "--no-baseline", "--json", str(out))
    results = json.loads(out.read_text())["results"]
    assert [(r["strategy"], r["seed"]) for r in results] == [
        ("BreakingTies", 0),
        ("BreakingTies", 1),
        ("RandomSampling", 0),
        ("RandomSampling", 1),
    ]
    for item in results:
        assert set(item) >= KEYS and item["backend"] == "hybrid"
        assert item["labels"] == [4, 8, 12]
        for key in ("accuracy", "update_s", "query_s"):
            assert len(item[key]) == 3 and all(value >= 0 for value in item[key])


def test_seeds_can_start_past_zero_to_add_to_an_earlier_run(tmp_path: Path) -> None:
    out = tmp_path / "al-curve.json"
    tiny = ["--batch-size", "4", "--max-labels", "8", "--seeds", "2", "--first-seed", "3", "--device", "cpu"]
    al_curve(
        *tiny_dataset(tmp_path),
        *tiny,
        "--backend",
        "hybrid",
        "--no-random",
        "--no-baseline",
        "--json",
        str(out),
    )
    assert [r["seed"] for r in json.loads(out.read_text())["results"]] == [3, 4]


def test_the_tutorial_baseline_can_come_from_an_earlier_run(tmp_path: Path) -> None:
    earlier = tmp_path / "earlier.json"
    tutorial = {
        "role": "tutorial",
        "backend": "transformer",
        "strategy": "BreakingTies",
        "seed": 0,
        "labels": [4, 8],
        "accuracy": [0.5, 0.6],
        "update_s": [1.0, 2.0],
        "query_s": [0.0, 3.0],
    }
    earlier.write_text(json.dumps({"results": [tutorial]}))
    out = tmp_path / "al-curve.json"
    tiny = ["--batch-size", "4", "--max-labels", "8", "--seeds", "1", "--device", "cpu", "--no-random"]
    al_curve(*tiny_dataset(tmp_path), *tiny, "--baseline-from", str(earlier), "--json", str(out))
    results = json.loads(out.read_text())["results"]
    assert [r["role"] for r in results] == ["tutorial", "chosen"]
    assert results[0]["from"] == str(earlier) and results[1]["backend"] == "auto"


def test_other_backends_are_measured_beside_it_in_the_same_invocation(tmp_path: Path) -> None:
    out = tmp_path / "al-curve.json"
    tiny = ["--batch-size", "4", "--max-labels", "8", "--seeds", "1", "--device", "cpu", "--no-baseline"]
    al_curve(
        *tiny_dataset(tmp_path), *tiny, "--compare", "embeddings", "--compare", "hybrid", "--json", str(out)
    )
    results = json.loads(out.read_text())["results"]
    assert [(r["role"], r["backend"], r["strategy"]) for r in results] == [
        ("chosen", "auto", "BreakingTies"),
        ("embeddings", "embeddings", "BreakingTies"),
        ("hybrid", "hybrid", "BreakingTies"),
        ("random", "auto", "RandomSampling"),
    ]


def test_two_speed_runs_take_the_share_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "al-curve.json"
    tiny = ["--batch-size", "4", "--max-labels", "8", "--seeds", "1", "--device", "cpu", "--no-random"]
    two_speed = ["--seconds-per-label", "1", "--heavy-backend", "embeddings", "--heavy-share", "0.25"]
    al_curve(
        *tiny_dataset(tmp_path), *tiny, *two_speed, "--backend", "hybrid", "--no-baseline", "--json", str(out)
    )
    chosen, background = json.loads(out.read_text())["results"]
    assert "heavy_share" not in chosen and background["heavy_share"] == 0.25
    assert background["served_by"] and set(background["served_by"]) <= {"fast", "heavy"}
