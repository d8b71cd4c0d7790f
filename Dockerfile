# syntax=docker/dockerfile:1
# The subscriptions service (site-tools webhook), for a town's server: docs/operations/deploy.md says why each line.
#   docker build --build-arg SITE_TOOLS_VERSION=0.2.0 -t site-tools:0.2.0 .
# The same Debian and Python in both stages: the venv built in the first runs on the second's interpreter.

FROM python:3.12-slim-bookworm AS build
# The image is built without .git: setuptools-scm is told the version (deploy/install refuses to guess).
ARG SITE_TOOLS_VERSION
WORKDIR /src
COPY . .
# uv is installed by deploy/install at the version locked in uv.lock; its cache stays out of the image.
RUN --mount=type=cache,target=/root/.cache/uv \
    SITE_TOOLS_VERSION="${SITE_TOOLS_VERSION}" UV_LINK_MODE=copy deploy/install /opt/site-tools

FROM python:3.12-slim-bookworm
ARG SITE_TOOLS_VERSION
LABEL org.opencontainers.image.title="site-tools" \
      org.opencontainers.image.description="Il servizio iscrizioni WhatsApp/Telegram del Comune (site-tools webhook)" \
      org.opencontainers.image.version="${SITE_TOOLS_VERSION}" \
      org.opencontainers.image.licenses="EUPL-1.2"
# git fetches the town's repository; openssh-client for a private one (a read-only deploy key).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client \
    && rm -rf /var/lib/apt/lists/*
# GitHub's published SSH host keys (checked against GitHub's documented fingerprints in tests/test_deploy.py):
# a deploy key's fetch verifies the host without asking anybody to run ssh-keyscan.
COPY deploy/github_known_hosts /etc/ssh/ssh_known_hosts
# A numeric user, no login: it owns only the content checkout and the backups, never the program.
RUN groupadd --system --gid 10001 site-tools \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/site-tools --no-create-home \
       --shell /usr/sbin/nologin site-tools \
    && mkdir -p /var/lib/site-tools/avvisi /backups \
    && chown 10001:10001 /var/lib/site-tools /var/lib/site-tools/avvisi /backups
# The program: root's, read-only for the service (a push to the town's repository can never write code it runs).
COPY --from=build /opt/site-tools /opt/site-tools
ENV PATH=/opt/site-tools/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# The checkout of the town's repository (content only): cloned on the first start, then kept at main by the service.
VOLUME ["/var/lib/site-tools/avvisi"]
WORKDIR /var/lib/site-tools/avvisi
USER 10001:10001
EXPOSE 8080
# No curl in the image: the package's own stdlib check (exit 1 and the reasons when /health is not 200).
HEALTHCHECK --interval=30s --timeout=15s --start-period=120s --retries=3 \
    CMD ["/opt/site-tools/.venv/bin/python", "-m", "site_tools.service.healthcheck", "http://127.0.0.1:8080/health"]
CMD ["site-tools", "webhook", "--init-checkout", "--host", "0.0.0.0", "--port", "8080"]
