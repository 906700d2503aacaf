# rq-dashboard, for watching alloop's queues and workers; every package is pinned
# (rq-dashboard-requirements.txt), rq to alloop's own version (pyproject.toml) so that the
# dashboard reads jobs the way the workers wrote them.

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY docker/rq-dashboard-requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --no-deps -r /tmp/requirements.txt \
    && pip check \
    && python -c "import rq_dashboard.cli" \
    && useradd --no-create-home --no-log-init --uid 10002 --user-group rqdashboard
USER 10002:10002
EXPOSE 9181
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 9181), 5).close()"]
# --json: alloop's jobs are serialized as JSON, never pickled.
ENTRYPOINT ["rq-dashboard", "--json"]
