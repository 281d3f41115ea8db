# Two commands do all set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

TRAIN_VENV := .venv-train
TRAIN_STAMP := $(TRAIN_VENV)/.installed

.PHONY: demo test bench build clean train-image

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tinysense demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q tests

bench: $(STAMP)
	$(BIN)/tinysense bench trees --readme README.md

# Re-create the committed .tflite test models and the image classifier's models (needs TensorFlow,
# kept out of .venv: `make test` and `make demo` use the committed files).
$(TRAIN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install --quiet --upgrade pip
	$(TRAIN_VENV)/bin/pip install --quiet -e '.[train]'
	touch $(TRAIN_STAMP)

train-image: $(TRAIN_STAMP)
	$(TRAIN_VENV)/bin/python tests/fixtures/make_tflite_models.py
	$(TRAIN_VENV)/bin/python apps/image_classifier/train.py

build: $(STAMP)
	$(BIN)/tinysense build

clean:
	rm -rf build dist out
