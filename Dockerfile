# syntax=docker/dockerfile:1
# weightgate controller image: `docker build -t weightgate:0.1.0 .` from the repository root.
#
# Two stages: the builder turns the source into wheels (ours and every dependency's); the final
# image gets a virtualenv with only those wheels installed, no compiler, no build tools, no pip
# cache, and runs as the non-root user 10001 that deploy/deployment.yaml also names.
# No HEALTHCHECK: Kubernetes ignores it; the Deployment probes /healthz and /readyz instead.

FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# What hatchling needs for the wheel: the package, its metadata and README, and config/gates
# (shipped inside the wheel as controller/profiles).
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY config/gates ./config/gates
RUN pip wheel --wheel-dir /wheels .


FROM python:3.11-slim-bookworm

ENV PATH=/opt/weightgate/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system --gid 10001 weightgate \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin weightgate

# The wheels are bind-mounted from the builder, so they never become a layer of this image; the
# venv has no pip of its own (the base image's pip installs into it), and installs only from the
# wheels built above.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv --without-pip /opt/weightgate \
    && pip --python /opt/weightgate/bin/python install --no-cache-dir --no-index \
       --find-links=/wheels /wheels/weightgate-*.whl

USER 10001:10001
WORKDIR /tmp
EXPOSE 8080

ENTRYPOINT ["weightgate"]
CMD ["controller", "--config", "/etc/weightgate/controller.yaml"]
