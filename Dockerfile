# The service image: `wa-flex-handoff api`, `wa-flex-handoff worker` and `wa-flex-handoff sandbox` (docker-compose.yml).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The source minus what .dockerignore leaves out (tests, venvs, local data and secrets).
COPY . .
# /config belongs to the service user: a new named volume mounted there takes its owner (docker-compose.yml).
RUN pip install . && useradd --system --uid 10001 --home-dir /app wafh && mkdir /config && chown wafh /config

USER wafh
EXPOSE 8000 9464
# SIGTERM (docker stop) lets the worker finish in-flight activities and uvicorn drain requests.
STOPSIGNAL SIGTERM
CMD ["wa-flex-handoff", "worker"]
