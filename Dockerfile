# crestline operator image. Not built in this repository's CI (no Docker engine there):
# keep it minimal. Build: docker build -t crestline:0.1.0 .
# Stage 1 builds wheels for the package and its dependencies; the final stage installs
# them into a slim Python with no compilers, and runs as a non-root user on a
# read-only root filesystem (the chart mounts an in-memory /tmp).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --uid 65532 --no-create-home --shell /usr/sbin/nologin crestline
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
ENTRYPOINT ["crestline"]
CMD ["run", "--all-namespaces"]
