# inspection-week: the service on the embedded SQLite default (a file on the /data volume), or on
# PostgreSQL with DATABASE_URL=postgresql://user:password@host/db.
#
#   docker build -t inspection-week .
#   docker run -p 8000:8000 -v inspection-week-data:/data inspection-week
#
# On first start with SQLite the admin API key and the `admin` user's one-time password are
# printed once in the container's log.

# GOV.UK Frontend for the pages and Swagger UI for /docs, from the npm registry (the lock file pins
# them); only their built files reach the image. No install scripts: none is needed, and
# swagger-ui-dist's dependency would send usage figures.
FROM node:20-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The wheel carries the migrations (service/_migrations), so nothing but the installed package is
# needed at run time; the sources are removed after the install.
COPY pyproject.toml README.md /tmp/src/
COPY service/ /tmp/src/service/
COPY migrations/ /tmp/src/migrations/
# Pango and a metric-compatible Arial for the printable reports (WeasyPrint).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation \
    && rm -rf /var/lib/apt/lists/*
RUN pip install /tmp/src \
    && rm -rf /tmp/src

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data

COPY --from=frontend /build/node_modules/govuk-frontend/dist/govuk /opt/govuk-frontend
COPY --from=frontend /build/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
    /build/node_modules/swagger-ui-dist/swagger-ui.css \
    /build/node_modules/swagger-ui-dist/LICENSE \
    /build/node_modules/swagger-ui-dist/NOTICE /opt/swagger-ui/

ENV DATABASE_URL=sqlite:////data/inspection-week.db \
    GOVUK_FRONTEND_DIR=/opt/govuk-frontend \
    SWAGGER_UI_DIR=/opt/swagger-ui \
    HOST=0.0.0.0 \
    PORT=8000

# An empty working directory: the settings come from the environment (`-e`, `--env-file`).
WORKDIR /app
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000

# slim has no curl: ask /healthz with the standard library; any error or non-2xx exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)" || exit 1

# `exec` hands PID 1 to the server, so `docker stop` (SIGTERM) shuts it down cleanly.
CMD ["sh", "-c", "inspection-week migrate && exec inspection-week serve"]
