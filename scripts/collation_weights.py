"""Write src/dm/core/weights/<family>.bin: MariaDB's weight of every BMP character under the
collations whose comparison is per character (no contractions), read from a sandbox
mariadbd with WEIGHT_STRING. Run once per MariaDB release; the files are committed.

    .venv/bin/python scripts/collation_weights.py

Format: zlib of, for each code point 0..0xFFFF, one byte n then n big-endian 16-bit
weights (n = 0: ignorable, 255: not a character, such as a surrogate).
"""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path

from dm.sandbox import MariaDB

OUT = Path(__file__).resolve().parent.parent / "src" / "dm" / "core" / "weights"
FAMILIES = {"general": "utf8mb4_general_ci", "unicode": "utf8mb4_unicode_ci"}


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="pydm-weights-"))
    server = MariaDB(base / "server", server_id=1, log_bin=False).start(base / "cache")
    try:
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute("SET NAMES utf8mb4")
            cur.execute("USE mysql")  # the seq_ tables need a current database
            OUT.mkdir(exist_ok=True)
            for family, collation in FAMILIES.items():
                cur.execute(f"SELECT seq, HEX(WEIGHT_STRING(CONVERT(CHAR(seq USING utf32) "
                            f"USING utf8mb4) COLLATE {collation})) FROM seq_0_to_65535")
                weights = dict(cur.fetchall())
                out = bytearray()
                for cp in range(0x10000):
                    text = weights.get(cp)
                    if text is None or 0xD800 <= cp <= 0xDFFF:
                        out.append(255)
                        continue
                    raw = bytes.fromhex(text)
                    out.append(len(raw) // 2)
                    out += raw
                (OUT / f"{family}.bin").write_bytes(zlib.compress(bytes(out), 9))
                print(f"{family}: {collation}, {len(out)} bytes")
        conn.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
