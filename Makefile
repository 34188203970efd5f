# Sequence Models: two commands do all the set-up.
#   make book   executes the labs (papermill) and renders the HTML book (Jupyter Book 1)
#   make test   runs the whole test suite in the same environment
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# make test runs its test files side by side, one worker per core (a lab's cells stay together), each on
# one thread: two workers of two threads each on two cores made the labs' kernels up to 6x slower (OpenMP
# threads waiting on each other); the smoke book is rendered from the labs' nbval runs, not executed again
# (tools/nbval_capture.py)
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: book smoke-book test unit normalize refresh editions grade wheel-check compare-results long-runs bench calibrate browser clean help

help:
	@echo "make book       execute every lab (full mode) and render _build/html"
	@echo "make test       unit tests, labs under nbval (smoke mode), smoke book build, browser check"
	@echo "make normalize  strip notebook outputs except the cells tagged nbval-check-output"
	@echo "make refresh    re-execute labs (smoke mode) and refresh the checked reference outputs"
	@echo "make editions   the students' editions, the autograders and (after make book) the instructors' editions"
	@echo "make grade SUBMISSIONS=folder   grade students' notebooks with the labs' checks (grades/)"
	@echo "make wheel-check  every students' edition, unfilled, from seqlib's wheel alone, outside the repo"
	@echo "make compare-results REFERENCE=file-or-url   which of your results moved beyond their seed spread"
	@echo "make long-runs NAMES=...   the long runs the labs quote, recorded with provenance (seqlib/records/)"
	@echo "make bench      training-throughput benchmark"
	@echo "make calibrate  how many minutes one reference unit (a lab's cost) takes on this machine"

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is needed (3.11 is tested): set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

book: $(STAMP)
	$(VPY) tools/build.py

smoke-book: $(STAMP)
	$(VPY) tools/build.py --smoke --out _build/smoke

browser:
	@bash tools/install_browser.sh

test: $(STAMP) browser
	SEQLIB_SMOKE=1 TQDM_DISABLE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VPY) -m pytest -n $(JOBS) -p tools.nbval_capture --dist loadfile --no-loadscope-reorder \
	    --nbval-lax --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg --nbval-cell-timeout 300 \
	    --durations=15 labs tests

unit: $(STAMP)
	SEQLIB_SMOKE=1 $(VPY) -m pytest tests -m "not book and not browser"

normalize: $(STAMP)
	$(VPY) tools/normalize.py

refresh: $(STAMP)
	$(VPY) tools/normalize.py --refresh

editions: $(STAMP)
	$(VPY) tools/editions.py

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || (echo "usage: make grade SUBMISSIONS=folder-of-notebooks [JOBS=2]"; exit 2)
	$(VPY) tools/grade.py "$(SUBMISSIONS)" --out grades --jobs $(JOBS)

wheel-check: $(STAMP)
	$(VPY) tools/wheel_check.py --jobs $(JOBS)

compare-results: $(STAMP)
	@test -n "$(REFERENCE)" || (echo "usage: make compare-results REFERENCE=the book's results.json (file or URL)"; exit 2)
	$(VPY) tools/compare_results.py _build/results.json "$(REFERENCE)"

long-runs: $(STAMP)
	@test -n "$(NAMES)" || ($(VPY) tools/long_runs.py --list; echo "usage: make long-runs NAMES=\"name ...\""; exit 2)
	$(VPY) tools/long_runs.py $(NAMES)

bench: $(STAMP)
	$(VPY) -m tools.bench

calibrate: $(STAMP)
	$(VPY) -m tools.reference

clean:
	rm -rf _build
