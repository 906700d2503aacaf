"""The trainer's rq worker: it reads a run's corpus before forking the run's jobs.

Every job runs in a fork of the worker, so what the worker has read its jobs inherit: read there,
the corpus (and its fingerprint) costs the first job of a run and none after it while the data is
unchanged, instead of every job on the annotators' wait (TREC-6: 0.03-0.05 s a job; a CSV of
100,000 texts: over a second).
"""

import logging

from rq import Queue, Worker
from rq.job import Job

from common.runs import RunRegistry
from trainer.context import corpus_fingerprint, corpus_of
from trainer.heavy import HEAVY_JOB
from watcher.enqueue import TRAIN_JOB

log = logging.getLogger("alloop.trainer")

RUN_JOBS = (TRAIN_JOB, HEAVY_JOB)
"""The jobs whose first argument is a run's name."""


class TrainerWorker(Worker):
    """An rq worker that reads the corpus of a job's run, once, before forking the job."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        self.read_corpus_of(job)
        super().execute_job(job, queue)

    def read_corpus_of(self, job: Job) -> None:
        """Read the corpus of ``job``'s run here; whatever fails is left for the job to report."""
        if job.func_name not in RUN_JOBS or not job.args:
            return
        try:
            spec = RunRegistry(self.connection).get(str(job.args[0])).spec
            corpus_of(spec)
            corpus_fingerprint(spec)
        except Exception as error:  # the job reads it again and says what is wrong
            log.debug("corpus of job %s not read ahead: %s", job.id, error)
