"""tactful build: hashed names, manifest integrity, pinned wheels, playbook validated at build time."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import zipfile

import pytest

from tactful.bundle import (
    BuildError,
    compile_playbook,
    engine_wheel,
    fetch_wheels,
    read_lock,
)
from tactful.cli import main


def test_manifest_matches_every_file(built_dist):
    manifest = json.loads((built_dist / "manifest.json").read_text())
    files = {p.relative_to(built_dist).as_posix() for p in built_dist.rglob("*") if p.is_file()}
    siblings = {name for name in files if name.endswith((".br", ".gz"))}
    assert files - siblings - {"manifest.json", ".sources"} == set(manifest["files"])
    for name, info in manifest["files"].items():
        data = (built_dist / name).read_bytes()
        assert info["sha256"] == hashlib.sha256(data).hexdigest()
        assert info["integrity"] == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
        assert 0 < info["brotli"] <= info["gzip"] <= info["bytes"]
    assert manifest["totals"]["bytes"] == sum(f["bytes"] for f in manifest["files"].values())
    assert set(manifest["first_visit"]) <= set(manifest["files"])


def test_precompressed_siblings_are_the_same_bytes(built_dist):
    import brotli

    siblings = list(built_dist.rglob("*.br"))
    assert len(siblings) >= 6 and (built_dist / "tactful.js.br").exists()
    for sibling in siblings:
        assert brotli.decompress(sibling.read_bytes()) == sibling.with_suffix("").read_bytes()
    for sibling in built_dist.rglob("*.gz"):
        assert gzip.decompress(sibling.read_bytes()) == sibling.with_suffix("").read_bytes()


def test_everything_but_the_loader_is_content_addressed(built_dist):
    manifest = json.loads((built_dist / "manifest.json").read_text())
    for name, info in manifest["files"].items():
        if name in ("tactful.js", "privacy.json", "privacy.html"):  # stable names a site links to
            continue
        if name.startswith("testing/"):  # a site's test suite imports it by name
            assert name == "testing/tactful-playwright.mjs"
            continue
        head = name.split("/")[0]
        if head == "assets":
            assert info["sha256"][:12] in name
        else:
            assert head.startswith(("runtime-", "wheels-"))
    loader = (built_dist / "tactful.js").read_text()
    assert "__TACTFUL_ASSETS__" not in loader
    assets = manifest["assets"]
    assert assets["worker"] in loader and assets["runtime"] in loader
    assert manifest["files"][assets["engine"]["url"]]["integrity"] == assets["engine"]["integrity"]


def test_the_engine_zip_holds_the_core_and_pure_python_msgpack(built_dist):
    manifest = json.loads((built_dist / "manifest.json").read_text())
    names = zipfile.ZipFile(built_dist / manifest["assets"]["engine"]["url"]).namelist()
    assert "tactful/core/_engine.pyc" in names and "msgpack/fallback.pyc" in names and "msgpack/LICENSE" in names
    assert not any(n.endswith(".so") or n.startswith(("tactful/proxy", "tactful/cli")) for n in names)
    assert not any(n.endswith(".py") for n in names)  # compiled ahead of time, no source beside it


def test_the_standard_library_is_trimmed_and_stripped(built_dist):
    manifest = json.loads((built_dist / "manifest.json").read_text())
    archive = zipfile.ZipFile(built_dist / manifest["assets"]["runtime"] / "python_stdlib.zip")
    names = set(archive.namelist())
    modules = {name.removesuffix("c") for name in names}
    assert {"json/__init__.py", "re/__init__.py", "tomllib/__init__.py", "dataclasses.py"} <= modules
    assert len(modules) == len(names)  # each module once: as bytecode or as source
    assert not modules & {"email/__init__.py", "unittest/__init__.py", "sqlite3/__init__.py", "http/client.py"}
    assert not modules & {"os.py", "importlib/_bootstrap.py", "zipimport.py"}  # frozen into the wasm binary
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    compiled = sorted(n for n in names if n.endswith(".pyc"))
    assert compiled and len(compiled) < len(names) / 2, compiled  # the most start-up per byte, within the allowance
    source = next(n for n in sorted(names) if n.endswith(".py") and archive.getinfo(n).file_size > 5000)
    assert '"""' not in archive.read(source).decode()[:3000], source  # docstrings gone


def test_bytecode_all_ships_the_whole_standard_library_compiled(built_dist, root, tmp_path):
    # A site that would rather pay bytes than compile time: the same modules, every one as bytecode.
    out = tmp_path / "dist"
    assert main(["build", "--bytecode", "all", "--out", str(out), "--playbook", str(root / "demo" / "playbook.toml")]) == 0

    def archive(dist):
        manifest = json.loads((dist / "manifest.json").read_text())
        return manifest, zipfile.ZipFile(dist / manifest["assets"]["runtime"] / "python_stdlib.zip").namelist()

    (default, default_names), (everything, names) = archive(built_dist), archive(out)
    assert names and all(name.endswith(".pyc") for name in names)
    assert {n.removesuffix("c") for n in names} == {n.removesuffix("c") for n in default_names}
    assert everything["first_visit_totals"]["brotli"] > default["first_visit_totals"]["brotli"] + 100_000


def test_nothing_points_at_a_third_party(built_dist):
    for path in (built_dist / "tactful.js", *built_dist.glob("assets/*.js")):
        text = path.read_text()
        assert "cdn.jsdelivr" not in text and "unpkg.com" not in text and "https://" not in text.replace(
            "https://github.com", ""
        ), path.name


def test_follow_up_targets_never_ship_to_the_browser(built_dist, demo_source, tmp_path):
    # The demo's sales inbox stays on the server; the browser learns only that a lead has somewhere to go.
    for path in built_dist.rglob("*"):
        if path.is_file() and not path.name.endswith((".br", ".gz", ".wasm")):
            assert b"sales@demo-shop.test" not in path.read_bytes(), path.name
    source = {**demo_source, "followup": {"email": "sales@shop.example", "webhook": "https://crm.example/hook"}}
    source["triggers"] = [{**t, "followup": {"webhook": "https://crm.example/t"}} if t["kind"] == "lead" else t
                          for t in source["triggers"]]  # fmt: skip
    file = tmp_path / "playbook.json"
    file.write_text(json.dumps(source))
    public = compile_playbook(file)
    assert b"crm.example" not in public and b"sales@" not in public
    assert b'"held_by_server":true' in public


def test_engine_wheel_is_deterministic_and_core_only():
    name, first = engine_wheel()
    _, second = engine_wheel()
    assert first == second and name.endswith("py3-none-any.whl")
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert "tactful/core/_engine.py" in names
    assert not any(n.startswith(("tactful/proxy", "tactful/cli", "tactful/build")) for n in names)


def test_a_bad_playbook_fails_the_build_naming_the_field(tmp_path, demo_source, capsys):
    bad = dict(demo_source, holdout={"fraction": 0})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(BuildError, match="holdout.fraction"):
        compile_playbook(path)
    assert main(["build", "--out", str(tmp_path / "dist"), "--playbook", str(path)]) == 2
    assert "holdout.fraction" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists()


def test_a_wheel_that_does_not_match_its_pin_is_refused(tmp_path):
    lock = read_lock()
    wheel = lock["wheels"][0]
    (tmp_path / wheel["file"]).write_bytes(b"tampered")
    tampered = {**lock, "wheels": [{**wheel, "sha256": "0" * 64}]}
    with pytest.raises(BuildError, match="does not match the lock"):
        fetch_wheels(tampered, tmp_path)


def test_the_bundle_carries_its_data_inventory(built_dist, demo_playbook):
    import json

    from tactful.core import inventory

    assert json.loads((built_dist / "privacy.json").read_text()) == inventory(demo_playbook.privacy, demo_playbook.honor_gpc)
    page = (built_dist / "privacy.html").read_text()
    assert "tactful:v1:id" in page and "/v1/outcome" in page and "<script" not in page
