#!/bin/sh
# Fuzzes descriptor decoding for SECONDS (default 60).
#   clang present  -> libFuzzer + ASan/UBSan (coverage guided)
#   else AFL++     -> afl-clang-fast + afl-fuzz
#   else           -> says SKIP for the coverage-guided run (apt-get install
#                     clang) and still runs the plain random/mutation driver
#                     built with cc, so the target is always exercised.
# FUZZ_ENGINE=libfuzzer|afl|plain forces one engine.
# Exit status: 0 when nothing was found, non-zero on a crash (the input is
# left in build/fuzz/).
set -eu
SECONDS_TO_RUN=${1:-60}
ENGINE=${FUZZ_ENGINE:-}
if [ -z "$ENGINE" ]; then
  if command -v clang >/dev/null 2>&1; then
    ENGINE=libfuzzer
  elif command -v afl-clang-fast >/dev/null 2>&1 && command -v afl-fuzz >/dev/null 2>&1; then
    ENGINE=afl
  else
    echo "SKIP fuzz: no clang or AFL++ (apt-get install clang)"
    ENGINE=plain
  fi
fi
cd "$(dirname "$0")/.."
OUT=build/fuzz
mkdir -p "$OUT/corpus"
SRCS="fuzz/desc_fuzz.c src/desc.c src/error.c"
FLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Isrc -g -O1"

# The plain driver: always built, writes the seed corpus.
${CC:-cc} $FLAGS -o "$OUT/desc_fuzz_plain" $SRCS
"$OUT/desc_fuzz_plain" --seeds "$OUT/corpus"

case $ENGINE in
libfuzzer)
  clang $FLAGS -DFUZZ_LIBFUZZER -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -o "$OUT/desc_fuzz" $SRCS
  echo "fuzz: libFuzzer for ${SECONDS_TO_RUN}s"
  exec "$OUT/desc_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len=256 \
    -artifact_prefix="$OUT/" -print_final_stats=1 "$OUT/corpus"
  ;;
afl)
  afl-clang-fast $FLAGS -DFUZZ_LIBFUZZER -fsanitize=fuzzer -o "$OUT/desc_fuzz_afl" $SRCS
  echo "fuzz: AFL++ for ${SECONDS_TO_RUN}s"
  rm -rf "$OUT/afl"
  AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
    afl-fuzz -V "$SECONDS_TO_RUN" -i "$OUT/corpus" -o "$OUT/afl" -- "$OUT/desc_fuzz_afl"
  crashes=$(find "$OUT/afl" -path '*crashes/id*' 2>/dev/null | wc -l)
  if [ "$crashes" -ne 0 ]; then
    echo "fuzz: $crashes crashing inputs in $OUT/afl/*/crashes" >&2
    exit 1
  fi
  ;;
*)
  echo "fuzz: running the plain mutation driver for ${SECONDS_TO_RUN}s"
  exec "$OUT/desc_fuzz_plain" "$SECONDS_TO_RUN" "$OUT/corpus"
  ;;
esac
