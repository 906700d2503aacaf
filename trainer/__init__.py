"""The trainer: rq workers that update the active learner and query the next batch."""
