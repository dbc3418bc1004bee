# The service image: `wa-flex-handoff api`, `wa-flex-handoff worker` and `wa-flex-handoff sandbox` (docker-compose.yml).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY workflows/ workflows/
COPY activities/ activities/
COPY api/ api/
COPY twilio_sandbox/ twilio_sandbox/
COPY twilio_rest/ twilio_rest/
COPY config/ config/
COPY cli/ cli/
COPY payload_encryption/ payload_encryption/
COPY worker.py ./
RUN pip install . && useradd --system --uid 10001 --home-dir /app wafh

USER wafh
EXPOSE 8000 9464
# SIGTERM (docker stop) lets the worker finish in-flight activities and uvicorn drain requests.
STOPSIGNAL SIGTERM
CMD ["wa-flex-handoff", "worker"]
