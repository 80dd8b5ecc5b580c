#!/usr/bin/env bash
# Re-extract every translatable string from the code and merge it into the lv, ru and en catalogs.
# Then translate what is new (tests/test_catalogs.py fails while anything in lv or ru is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel extract --project=manabalss-bot --no-location --sort-output --width=120 \
  -k _:1,1t -k _:1,2 -k __ -k lazy_gettext -o locales/messages.pot bot handlers
for lang in lv ru en; do
  if [ -f "locales/$lang/LC_MESSAGES/messages.po" ]; then
    pybabel update --ignore-obsolete --width=120 --no-fuzzy-matching -i locales/messages.pot -d locales -D messages -l "$lang"
  else
    pybabel init -i locales/messages.pot -d locales -D messages -l "$lang" --width=120
  fi
done
# English is the source language: its catalog repeats the source texts, so that nothing reads as missing.
python3 - <<'PY'
from babel.messages.pofile import read_po, write_po

path = "locales/en/LC_MESSAGES/messages.po"
with open(path, "rb") as file:
    catalog = read_po(file, locale="en")
for message in catalog:
    if message.id and not message.string or (isinstance(message.string, tuple) and not any(message.string)):
        message.string = message.id
    message.flags.discard("fuzzy")
with open(path, "wb") as file:
    write_po(file, catalog, width=120, omit_header=False, no_location=True)
PY
