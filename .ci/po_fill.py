#!/usr/bin/env python3
"""Fill catalogue entries from JSON: {"msgid": {"zh_Hans": "…", "zh_Hant": "…", "en": "…"}}.

For plural entries the value per language is a list of forms. Existing translations are replaced
only with --force. Usage: python .ci/po_fill.py translations.json [--force]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "locales"


def main() -> int:
    source = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    force = "--force" in sys.argv
    for lang_dir in sorted(p for p in ROOT.iterdir() if (p / "LC_MESSAGES").is_dir()):
        po = lang_dir / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=lang_dir.name)
        changed = 0
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            text = source.get(key, {}).get(lang_dir.name)
            if text is None:
                continue
            empty = (
                not any(message.string) if isinstance(message.string, tuple) else not message.string
            )
            if empty or force:
                message.string = tuple(text) if isinstance(message.id, tuple) else text
                message.flags.discard("fuzzy")
                changed += 1
        with po.open("wb") as fp:
            write_po(fp, catalog, width=76, omit_header=False)
        missing = [
            m.id
            for m in catalog
            if m.id and not (any(m.string) if isinstance(m.string, tuple) else m.string)
        ]
        print(f"{lang_dir.name}: {changed} filled, {len(missing)} still empty")
    return 0


if __name__ == "__main__":
    sys.exit(main())
