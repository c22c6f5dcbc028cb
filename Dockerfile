# crestline operator image.
#
#   docker build -t crestline:0.1.0 .          (BuildKit; the default since Docker 23)
#   make image                                 (same, on a base made here from Debian packages)
#
# BASE selects the Python base image. The default, the official python:3.11-slim, is
# what users build on; `make image` passes a base made from Debian packages
# (images/base/build.sh) on machines that reach no container registry. Both stages use
# the same base, so the virtualenv built in the first runs unchanged in the second.
#
# Only the product is installed (operator/, never dev/ or tests/): stage 1 builds a
# virtualenv with the package and its dependencies; the final stage copies it into a
# clean base without pip caches or build inputs, runs as uid 65532 and works on a
# read-only root filesystem (the chart mounts an in-memory /tmp).
#
# Behind a TLS-intercepting proxy pip needs the proxy's CA: pass the host's bundle as
# a build secret (`--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt`); a secret is
# never stored in a layer. Without it pip uses its own CA bundle.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
WORKDIR /src
# Dependencies first, from pyproject.toml alone: editing the operator's code then
# rebuilds only the last, small layer.
COPY pyproject.toml README.md ./
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && python3 -m venv /opt/crestline \
    && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
    && /opt/crestline/bin/pip install --disable-pip-version-check -r /tmp/requirements.txt
COPY operator ./operator
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && /opt/crestline/bin/pip install --disable-pip-version-check --no-deps . \
    && { /opt/crestline/bin/pip uninstall --yes pip setuptools wheel >/dev/null 2>&1 || true; }

FROM ${BASE}
COPY --from=build /opt/crestline /opt/crestline
# Written directly rather than with useradd: a minimal Debian base has no passwd tools.
RUN echo 'crestline:x:65532:65532:crestline:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'crestline:x:65532:' >> /etc/group
ENV PATH=/opt/crestline/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
ENTRYPOINT ["crestline"]
CMD ["run", "--all-namespaces"]
