"""A simulated annotator: labels batches in Argilla with the gold labels, as a person would in the UI."""

from simulator.annotator import SimulatedAnnotator

__all__ = ["SimulatedAnnotator"]
