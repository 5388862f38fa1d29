"""Refreshes the vendored Decap CMS: `python -m flash.editor.vendor` fetches the pinned
package from npm, checks its integrity and copies its built files into flash/editor/static/.

The files are committed (≈ 6 MB): the communications team installs Flash with pip alone,
`flash serve` offers the editor without Node.js, and neither the site nor the editor loads
anything from a CDN. Changing VERSION and INTEGRITY (from `npm view decap-cms@X
dist.integrity`) and running this module is the whole upgrade.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "3.16.3"
INTEGRITY = ("sha512-hf+dPlCh7TJmWl8+6VRzHYOWhri5xgUknrZbDewaWe4s9B7xJ8PQugp2QHeSldMUKzav6+z0o"
             "IpwUYhUJDYtYw==")
STATIC = Path(__file__).parent / "static"


def _wanted(name: str) -> bool:
    """The browser build and its lazily loaded chunks and WebAssembly, without source maps."""
    return (name.endswith("decap-cms.js") or name.endswith(".wasm")) and "/" not in name


def vendor() -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        packed = subprocess.run(["npm", "pack", f"decap-cms@{VERSION}", "--json",
                                 "--pack-destination", folder],
                                check=True, capture_output=True, text=True)
        name = json.loads(packed.stdout)[0]["filename"]
        data = (Path(folder) / name).read_bytes()
        digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != INTEGRITY:
            raise SystemExit(f"decap-cms {VERSION}: integrity {digest} is not the pinned one")
        for old in STATIC.glob("*decap-cms.js"):
            old.unlink()
        for old in STATIC.glob("*.wasm"):
            old.unlink()
        copied = []
        with tarfile.open(Path(folder) / name) as archive:
            for member in archive.getmembers():
                relative = member.name.removeprefix("package/dist/")
                if member.isfile() and member.name.startswith("package/dist/") and \
                        _wanted(relative):
                    source = archive.extractfile(member)
                    assert source is not None
                    with (STATIC / relative).open("wb") as target:
                        shutil.copyfileobj(source, target)
                    copied.append(relative)
        (STATIC / "VERSION").write_text(VERSION + "\n", encoding="utf-8")
        return sorted(copied)


if __name__ == "__main__":
    files = vendor()
    print(f"decap-cms {VERSION}: {len(files)} files in {STATIC}", file=sys.stderr)
