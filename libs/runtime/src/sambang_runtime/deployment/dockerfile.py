"""``deploy/Dockerfile``: one image for every service, built in two stages, run as a numeric non-root user."""

from __future__ import annotations

from .names import APP_UID, HEADER

#: Pinned: a rebuild months later gets the same Python (``make constraints`` pins the packages likewise).
BASE_IMAGE = "python:3.11.13-slim-bookworm"
#: The venv both stages share: same path, so the editable installs' paths stay true in the final stage.
VENV = "/opt/venv"

#: The health check every container runs: ``/healthz`` on the service's own port with the standard
#: library (the slim image has no curl), so compose's ``service_healthy`` and ``docker ps`` agree.
HEALTHCHECK_COMMAND = (
    "import os, urllib.request; "
    "urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SAMBANG_PORT', '8000'), timeout=3)"
)


def dockerfile() -> str:
    """The multi-stage Dockerfile (build context: the repository root)."""
    check = '["python", "-c", "' + HEALTHCHECK_COMMAND + '"]'
    return f"""{HEADER}# One image for every service; the command picks the service (python -m sambang_<name>).
# Build from the repository root: docker build -f deploy/Dockerfile -t sambang:<version> .
# deploy/Dockerfile.dockerignore keeps the venv, var/ and the secrets out of the build context.

# -- builder: a venv with the pinned wheels and the packages, editable so migrations/ stay where the code
# looks for them (services/<name>/migrations).
FROM {BASE_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH={VENV}/bin:$PATH
WORKDIR /app
RUN python -m venv {VENV}
COPY requirements requirements
RUN pip install -r requirements/base.txt -c requirements/constraints.txt
COPY libs libs
COPY services services
RUN pip install --no-deps -e libs/contracts -e libs/runtime $(printf -- '-e %s ' services/*)

# -- final: the venv, the code and the web clients; no compiler, no build step, nothing installed here.
FROM {BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH={VENV}/bin:$PATH SAMBANG_HOST=0.0.0.0
WORKDIR /app
RUN groupadd --gid {APP_UID} sambang \\
    && useradd --uid {APP_UID} --gid {APP_UID} --no-create-home --shell /usr/sbin/nologin sambang
COPY --from=builder {VENV} {VENV}
COPY --from=builder /app/libs libs
COPY --from=builder /app/services services
# The web clients: served by the front door (`--clients-only` in the k8s web Deployment) or nginx.
COPY clients clients
# Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER {APP_UID}:{APP_UID}
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD {check}
CMD ["python", "-m", "sambang_runtime.frontdoor", "--clients-only"]
"""


#: Kept out of the build context: the venv, local state, caches and every secret ``make secrets`` wrote.
DOCKERIGNORE = (
    HEADER
    + """**/.venv
**/var
**/__pycache__
**/*.pyc
**/.pytest_cache
**/.mypy_cache
**/.ruff_cache
**/*.egg-info
.git
deploy/.env
deploy/secrets
deploy/tls
tests
bench
docs
"""
)
