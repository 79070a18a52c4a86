# syntax=docker/dockerfile:1
# WorkSync image: build wheels in one stage, install them in a slim runtime that runs as an
# unprivileged user. `docker compose up --build` uses it for every WorkSync service.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m pip install --upgrade pip wheel
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY interfaces ./interfaces
COPY migrations ./migrations
# Our wheel and every dependency's, so the runtime needs no compiler and no network.
RUN python -m pip wheel --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links /wheels worksync \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin worksync \
    && mkdir -p /app /data/files \
    && chown worksync:worksync /app /data/files
WORKDIR /app
USER worksync:worksync
EXPOSE 8000 9100
HEALTHCHECK --interval=10s --timeout=5s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)"]
CMD ["worksync", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-projector"]
