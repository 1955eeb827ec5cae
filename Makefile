# Nuanxin — every habit has a target. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint bench system-deps demo clean install admin

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -qq -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Serve the shipped Beijing demo on http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/nuanxin init --demo --if-empty
	$(BIN)/nuanxin serve --host $(HOST) --port $(PORT)

## The first union account: an admin (asks for the password); NAME=... to choose the name
admin: $(STAMP)
	$(BIN)/nuanxin users add $(or $(NAME),admin) --role admin

## Every test, with the system packages they need (Chromium, PostgreSQL/PostGIS)
test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

system-deps:
	bash .ci/system-deps

lint: $(STAMP)
	$(BIN)/ruff check stations geodata webmap tests bench

## Benchmarks, side by side with their baselines (figures printed and saved in bench/results)
bench: $(STAMP)
	$(BIN)/python -m pip install -qq -e '.[test,bench]'
	$(BIN)/python -m bench

## Rebuild the shipped demo from geodata/demo/source (or DATA=path, e.g. ../shared/data)
demo: $(STAMP)
	$(BIN)/python -m geodata.demo build $(if $(DATA),--source $(DATA),)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis build *.egg-info
