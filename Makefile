# The two commands of the README. Each sets up whatever is missing first.
.PHONY: run test lint

VENV ?= .venv
# Empty: the settings decide (NNP_HOST / NNP_PORT, else 127.0.0.1:8000).
HOST ?=
PORT ?=

run:
	scripts/setup.sh run
	$(VENV)/bin/nn-playground serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

test:
	scripts/setup.sh test
	$(MAKE) lint
	$(VENV)/bin/python -m pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
