"""The pauser process on a real Redis: a background training yields to a training job."""

import subprocess
import sys

import redis

from common.claims import claim
from tests.support.processes import wait_for

BACKGROUND = """
import sys, time
from trainer.yielding import yielding
with yielding(sys.argv[1], "itest-machine"):
    print("training", flush=True)
    time.sleep(120)
"""


def test_a_background_training_is_stopped_by_its_pauser_while_a_job_claims_the_machine(
    connection: dict[str, str], redis_client: redis.Redis
) -> None:
    url = connection["REDIS_URL"]
    background = subprocess.Popen([sys.executable, "-c", BACKGROUND, url], stdout=subprocess.PIPE)
    try:
        assert background.stdout is not None and background.stdout.readline() == b"training\n"
        assert url not in " ".join(_command_lines()), "the Redis URL is never on a command line"
        with claim(redis_client, "itest-machine", "a training job"):
            wait_for(background.pid, "T")
        wait_for(background.pid, "S")
    finally:
        background.kill()
        background.wait()


def _command_lines() -> list[str]:
    result = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return result.stdout.splitlines()
