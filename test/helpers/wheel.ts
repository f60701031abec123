/** Python wheels for pip tests (no package index is reachable): built with Python's zipfile, no build backend needed. */
import { execFileSync } from 'node:child_process';

/** A minimal pure-Python wheel (name-version-py3-none-any.whl) written with Python's zipfile. */
export function buildWheel(dir: string, name: string, version: string): void {
  const py = `
import sys, zipfile, hashlib, base64
name, version, out = sys.argv[1], sys.argv[2], sys.argv[3]
files = {
    f"{name}/__init__.py": f"VERSION = '{version}'\\n",
    f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
    f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: kiln-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
rec = []
for p, c in files.items():
    d = base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b"=").decode()
    rec.append(f"{p},sha256={d},{len(c.encode())}")
rec.append(f"{name}-{version}.dist-info/RECORD,,")
files[f"{name}-{version}.dist-info/RECORD"] = "\\n".join(rec) + "\\n"
with zipfile.ZipFile(f"{out}/{name}-{version}-py3-none-any.whl", "w") as z:
    for p, c in files.items():
        z.writestr(p, c)
`;
  execFileSync('/usr/bin/python3', ['-c', py, name, version, dir]);
}
