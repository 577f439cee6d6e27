# govhub — the two commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test test-unit constraints schemas clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "govhub needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/govhub demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

schemas: $(STAMP)
	$(BIN)/govhub schemas build

constraints: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	{ echo "# Resolved versions of every dependency (Python 3.11), installed with 'pip install -c constraints.txt'."; \
	  echo "# Regenerate after changing pyproject.toml: make constraints"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -vi '^govhub'; } > constraints.txt

clean:
	rm -rf var

# Ingest throughput and memory against COPY and an ORM baseline (docs/bench.md);
# N=2000000 BENCH_ARGS=--stages=xml_first is the memory check.
N ?= 200000
.PHONY: bench
bench: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench --n $(N) $(BENCH_ARGS)
