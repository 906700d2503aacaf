"""The watcher: detects finished batches in Argilla and enqueues training jobs."""
