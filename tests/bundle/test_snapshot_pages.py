"""The snapshot as the worker keeps it (browser/worker/pages.js), run under Node: without its zero
pages, and whole again byte for byte; anything else in its place (another format, a truncated or
padded copy, a header that disagrees with its pages) is refused, so the worker starts cold."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")

CHECK = r"""
const { PAGE, MAGIC, sparse, dense } = await import(process.argv[1]);
const out = {};
function memory(length, written) {  // zeros but for the bytes in `written`: {offset: value}
  const bytes = new Uint8Array(length);
  for (const [at, value] of Object.entries(written)) bytes[Number(at)] = value;
  return bytes;
}
function same(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
const P = PAGE;
const cases = {
  // page 0 written, 1-2 zero, 3 written in its last byte only, 4 zero, a partial last page written past its last whole word
  mixed: memory(5 * P + 7, { 0: 1, 17: 200, [4 * P - 1]: 9, [5 * P + 6]: 3 }),
  allZero: memory(3 * P, {}),
  exact: memory(2 * P, { [P]: 5 }),
  tiny: memory(3, { 2: 1 }),
  empty: new Uint8Array(0),
};
for (const [name, bytes] of Object.entries(cases)) {
  const kept = sparse(bytes);
  out[name] = { pages: new DataView(kept.buffer).getUint32(12, true), kept: kept.length, back: same(dense(kept), bytes) };
}
const unaligned = new Uint8Array(2 * P + 1).subarray(1);  // a view that starts off a word boundary
unaligned[P + 3] = 7;
out.unaligned = same(dense(sparse(unaligned)), unaligned);
const real = cases.mixed;
const kept = sparse(real);
const broken = {
  otherFormat: real,
  zeros: new Uint8Array(4096),
  short: kept.subarray(0, 8),
  truncated: kept.subarray(0, kept.length - 1),
  padded: new Uint8Array([...kept, 0]),
  countLies: (() => { const k = kept.slice(); new DataView(k.buffer).setUint32(12, 1, true); return k; })(),
  lengthLies: (() => { const k = kept.slice(); new DataView(k.buffer).setUint32(4, 99 * P, true); return k; })(),
  bitmapLies: (() => { const k = kept.slice(); k[16] = 0xff; return k; })(),
};
out.refused = {};
for (const [name, bytes] of Object.entries(broken)) {
  try { dense(bytes); out.refused[name] = false; } catch (e) { out.refused[name] = String(e.message); }
}
out.magic = new DataView(kept.buffer).getUint32(0, true) === MAGIC;
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def checked(root, tmp_path_factory):
    module = tmp_path_factory.mktemp("pages") / "pages.mjs"
    shutil.copy(root / "browser" / "worker" / "pages.js", module)
    result = subprocess.run(["node", "--input-type=module", "-e", CHECK, str(module)],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_only_the_pages_with_a_written_byte_are_kept(checked):
    header, bitmap, page = 16, 4, 4096
    # pages 0, 3 and the partial 5: the ones with any nonzero byte, even a single last one
    assert checked["mixed"]["pages"] == 3 and checked["mixed"]["kept"] == header + bitmap + 3 * page
    assert checked["allZero"]["pages"] == 0 and checked["allZero"]["kept"] == header + bitmap
    assert checked["exact"]["pages"] == 1
    assert checked["tiny"]["pages"] == 1
    assert checked["empty"]["pages"] == 0


def test_what_is_kept_comes_back_byte_for_byte(checked):
    assert all(checked[name]["back"] for name in ("mixed", "allZero", "exact", "tiny", "empty"))
    assert checked["unaligned"] is True
    assert checked["magic"] is True


def test_anything_that_is_not_a_whole_kept_snapshot_is_refused(checked):
    refused = checked["refused"]
    assert all(refused.values()), refused  # each one a message, none restored
    assert refused["otherFormat"] == refused["zeros"] == "snapshot: not a kept snapshot"
    assert refused["short"] == "snapshot: too short to be one"
    for name in ("truncated", "padded", "countLies", "lengthLies", "bitmapLies"):
        assert refused[name] == "snapshot: truncated or damaged", name
