# One image for every plantroom process: plantroom collect | alerts | api | simulate.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# pinned dependencies first, so code changes do not reinstall them
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml ./
COPY core ./core
COPY storage ./storage
COPY collectors ./collectors
COPY alerts ./alerts
COPY api ./api
COPY simulators ./simulators
COPY plantroom ./plantroom
COPY dashboards ./dashboards
COPY examples ./examples
RUN pip install --no-deps . \
 && mkdir -p /etc/plantroom \
 && cp examples/site.yaml /etc/plantroom/site.yaml \
 && useradd --system --uid 10001 --home-dir /app plantroom \
 && mkdir -p /var/lib/plantroom \
 && chown plantroom /var/lib/plantroom

USER plantroom
ENV PLANTROOM_SITE=/etc/plantroom/site.yaml \
    PLANTROOM_BUFFER_PATH=/var/lib/plantroom/buffer.db
VOLUME ["/var/lib/plantroom"]
EXPOSE 8080
CMD ["plantroom", "--help"]
