# The hub image: `govhub serve`, `govhub worker`, `govhub deliver --loop`, `govhub init`.
# Build from the repository root:  docker build -f docker/hub.Dockerfile -t govhub/hub .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GOVHUB_HOME=/var/lib/govhub \
    GOVHUB_LOG_FORMAT=json \
    GOVHUB_LOG_LEVEL=INFO

# A non-root user that owns nothing but the hub's working folder.
RUN groupadd --system --gid 10001 govhub \
 && useradd --system --uid 10001 --gid govhub --home-dir /var/lib/govhub --create-home govhub

WORKDIR /opt/govhub
# Dependencies first (their layer survives code changes), pinned exactly as in CI.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p hub adapters devices govhub_verify \
 && touch hub/__init__.py adapters/__init__.py devices/__init__.py govhub_verify/__init__.py \
 && pip install -c constraints.txt . \
 && pip uninstall -y govhub && rm -rf hub adapters devices govhub_verify build *.egg-info
# The code, the data it validates on load (schemas, mappings, catalogue) and the DAGs.
COPY hub ./hub
COPY adapters ./adapters
COPY devices ./devices
COPY govhub_verify ./govhub_verify
COPY schemas ./schemas
COPY mappings ./mappings
COPY catalog ./catalog
COPY dags ./dags
# Editable, so the hub finds schemas/, mappings/ and catalog/ beside its code (hub.core.config.ROOT).
RUN pip install --no-deps -e .

USER govhub
EXPOSE 8080 9100
# Liveness only; readiness (database and bus reachable) is GET /ready.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)" || exit 1
ENTRYPOINT ["govhub"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
