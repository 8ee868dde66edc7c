# The two commands of the README. Each sets up whatever is missing first.
.PHONY: run test lint

VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000

run:
	scripts/setup.sh run
	$(VENV)/bin/nn-playground serve --host $(HOST) --port $(PORT)

test:
	scripts/setup.sh test
	$(MAKE) lint
	$(VENV)/bin/python -m pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
