"""Tests of seqlib.data: lookup order, checksums, downloads (from a local server), error messages.

No test touches the internet: downloads come from an http.server on 127.0.0.1, and "no
network" is a port on 127.0.0.1 that nothing listens on.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from seqlib import data

MIRROR = os.environ.get("SEQLIB_DATA_DIR")  # read before the fixtures clear it
TEXT = b"The Time Traveller (for so it will be convenient to speak of him)\n"


def sha1(raw: bytes) -> str:
    return "sha1:" + hashlib.sha1(raw).hexdigest()


def sha256(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def dead_url(name: str = "toy.txt") -> str:
    """An address on 127.0.0.1 where nothing listens: connecting fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """Fresh cache folder, no offline folder, no proxy for 127.0.0.1."""
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQLIB_DATA_DIR", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return tmp_path


def register(monkeypatch, url: str, raw: bytes = TEXT, name: str = "toy", **kw) -> data.Dataset:
    ds = data.Dataset(kw.pop("file", "toy.txt"), url, kw.pop("known_hash", sha1(raw)), "a toy", **kw)
    monkeypatch.setitem(data.REGISTRY, name, ds)
    return ds


class Server:
    """http.server serving a folder on 127.0.0.1 in a daemon thread; counts GET requests."""

    def __init__(self, root: Path):
        self.root, self.requests = root, []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=10)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = Server(root)
    yield srv
    srv.stop()


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as info:
        data.fetch("time machine")
    msg = str(info.value)
    assert "'time machine'" in msg
    for name in ("timemachine", "rt-polarity.pos", "rt-polarity.neg"):
        assert name in msg


def test_registry_entries_are_complete():
    for ds in data.REGISTRY.values():
        assert ds.url.startswith(("http://", "https://")) and ds.description
        alg, digest = ds.known_hash.split(":")
        assert len(digest) == hashlib.new(alg).digest_size * 2


def test_offline_folder_hit_is_used_as_is(env, monkeypatch):
    offline = env / "offline"
    offline.mkdir()
    (offline / "toy.txt").write_bytes(TEXT)
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(offline))
    register(monkeypatch, dead_url())
    before = snapshot(offline)
    assert data.fetch("toy") == offline / "toy.txt"
    assert data.read_text("toy") == TEXT.decode()
    assert snapshot(offline) == before
    assert not (env / "cache").exists()  # nothing downloaded or cached


def test_offline_folder_wrong_checksum_names_file_and_hashes(env, monkeypatch):
    offline = env / "offline"
    offline.mkdir()
    (offline / "toy.txt").write_bytes(b"a different text\n")
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(offline))
    ds = register(monkeypatch, dead_url())
    with pytest.raises(data.ChecksumError) as info:
        data.fetch("toy")
    msg = str(info.value)
    assert str(offline / "toy.txt") in msg
    assert ds.known_hash in msg
    assert sha1(b"a different text\n") in msg
    assert (offline / "toy.txt").read_bytes() == b"a different text\n"  # left alone
    assert isinstance(info.value, data.DataNotAvailableError)


@pytest.mark.parametrize("offline_set", [False, True])
def test_missing_offline_and_no_network_explains_the_fix(env, monkeypatch, offline_set):
    if offline_set:
        (env / "empty").mkdir()
        monkeypatch.setenv("SEQLIB_DATA_DIR", str(env / "empty"))
    ds = register(monkeypatch, dead_url())
    with pytest.raises(data.DataNotAvailableError) as info:
        data.fetch("toy")
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "toy.txt" in msg and ds.url in msg
    assert "export SEQLIB_DATA_DIR=/path/to/folder" in msg and "by hand" in msg
    assert (str(env / "empty") in msg) if offline_set else ("SEQLIB_DATA_DIR is not set" in msg)
    if offline_set:
        assert snapshot(env / "empty") == {}


def test_download_verifies_caches_and_then_works_offline(env, monkeypatch, server):
    (server.root / "toy.txt").write_bytes(TEXT)
    register(monkeypatch, server.url + "/toy.txt")
    path = data.fetch("toy")
    assert path == env / "cache" / "toy.txt" and path.read_bytes() == TEXT
    assert server.requests == ["/toy.txt"]
    server.stop()
    assert data.fetch("toy") == path  # from the cache: no network needed
    assert data.read_text("toy") == TEXT.decode()
    assert server.requests == ["/toy.txt"]


def test_download_with_wrong_checksum_is_rejected(env, monkeypatch, server):
    (server.root / "toy.txt").write_bytes(b"tampered\n")
    register(monkeypatch, server.url + "/toy.txt", known_hash=sha1(TEXT))
    with pytest.raises(data.DataNotAvailableError, match="toy.txt"):
        data.fetch("toy")
    assert not (env / "cache" / "toy.txt").exists()


def test_corrupt_cache_is_replaced_by_a_fresh_download(env, monkeypatch, server):
    (server.root / "toy.txt").write_bytes(TEXT)
    register(monkeypatch, server.url + "/toy.txt")
    cached = env / "cache" / "toy.txt"
    cached.parent.mkdir()
    cached.write_bytes(b"truncated")
    assert data.fetch("toy") == cached
    assert cached.read_bytes() == TEXT
    assert server.requests == ["/toy.txt"]


def test_corrupt_cache_without_network_says_so(env, monkeypatch):
    ds = register(monkeypatch, dead_url())
    cached = env / "cache" / "toy.txt"
    cached.parent.mkdir()
    cached.write_bytes(b"truncated")
    with pytest.raises(data.DataNotAvailableError) as info:
        data.fetch("toy")
    msg = str(info.value)
    assert "corrupt" in msg and str(cached) in msg and ds.url in msg
    assert ds.known_hash in msg and sha1(b"truncated") in msg
    assert "export SEQLIB_DATA_DIR=" in msg


def make_archive(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def test_archive_members_in_latin1_or_cp1252_are_verified_and_cached_as_utf8(env, monkeypatch, server):
    pos = "the château is a film full of life .\n9 ½ weeks\n"
    neg = "heck \u2013 few filmmakers will .\n"  # en dash: byte 0x96 in Windows-1252
    make_archive(server.root / "mr.tar.gz", {"mr/mr.pos": pos.encode("latin-1"),
                                             "mr/mr.neg": neg.encode("cp1252")})
    url = server.url + "/mr.tar.gz"
    for name, text in (("pos", pos), ("neg", neg)):
        register(monkeypatch, url, name=name, file=f"mr/mr.{name}", member=f"mr/mr.{name}",
                 known_hash=sha256(text.encode("utf-8")))
    path = data.fetch("pos")
    assert path == env / "cache" / "mr" / "mr.pos"
    assert path.read_bytes() == pos.encode("utf-8")
    server.stop()
    # the sibling member came out of the same download
    assert data.fetch("neg").read_bytes() == neg.encode("utf-8")
    assert data.read_text("neg") == neg
    assert server.requests == ["/mr.tar.gz"]


def test_archive_member_with_wrong_checksum_is_rejected(env, monkeypatch, server):
    make_archive(server.root / "mr.tar.gz", {"mr/mr.pos": b"something else\n"})
    register(monkeypatch, server.url + "/mr.tar.gz", name="pos", file="mr/mr.pos",
             member="mr/mr.pos", known_hash=sha256(b"expected\n"))
    with pytest.raises(data.DataNotAvailableError) as info:
        data.fetch("pos")
    assert "mr/mr.pos" in str(info.value) and sha256(b"expected\n") in str(info.value)
    assert not (env / "cache" / "mr" / "mr.pos").exists()


def test_import_downloads_and_creates_nothing(env):
    code = "import seqlib.data, os, sys; sys.exit(os.path.exists(os.environ['SEQLIB_CACHE_DIR']))"
    environ = {**os.environ, "SEQLIB_CACHE_DIR": str(env / "never"),
               "PYTHONPATH": str(Path(data.__file__).parents[1])}
    assert subprocess.run([sys.executable, "-c", code], env=environ, timeout=120).returncode == 0
    assert not (env / "never").exists()


@pytest.mark.skipif(not MIRROR or not (Path(MIRROR) / "timemachine.txt").is_file(),
                    reason="set SEQLIB_DATA_DIR to the offline mirror of the data "
                           "(e.g. /work/shared/data) to check the real files")
def test_real_mirror(monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", MIRROR)
    assert data.fetch("timemachine").stat().st_size == 178_979
    assert len(data.read_text("timemachine").splitlines()) == 3_221
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        assert data.fetch(name).parent.name == "rt-polaritydata"
        assert len(data.read_text(name).splitlines()) == 5_331


def test_offline_latin1_member_from_a_hand_extracted_archive_is_accepted(env, monkeypatch):
    text = "the château .\n"
    (env / "offline" / "mr").mkdir(parents=True)
    (env / "offline" / "mr" / "mr.pos").write_bytes(text.encode("latin-1"))
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(env / "offline"))
    register(monkeypatch, dead_url("mr.tar.gz"), name="pos", file="mr/mr.pos", member="mr/mr.pos",
             known_hash=sha256(text.encode("utf-8")))
    assert data.fetch("pos") == env / "offline" / "mr" / "mr.pos"
    assert data.read_text("pos") == text
    assert (env / "offline" / "mr" / "mr.pos").read_bytes() == text.encode("latin-1")


# --- issue 13: concurrent downloads, relative SEQLIB_DATA_DIR, unusable cache folders ---------------

def _fetch_in_child(args):
    """Worker of the concurrency test (a separate process): register the toy data set, fetch it."""
    name, fields, cache = args
    os.environ["SEQLIB_CACHE_DIR"] = cache
    data.REGISTRY[name] = data.Dataset(**fields)
    try:
        path = data.fetch(name)
        return "ok", str(path), hashlib.sha256(path.read_bytes()).hexdigest()
    except Exception as err:  # reported to the parent, which shows it
        return "error", f"{type(err).__name__}: {err}", ""


class GatedServer(Server):
    """A Server that holds every GET until ``expected`` requests have arrived (or 10 s have passed),
    so that the concurrent downloads really overlap."""

    def __init__(self, root: Path, expected: int):
        super().__init__(root)
        barrier = threading.Barrier(expected, timeout=10)
        handler = self.httpd.RequestHandlerClass
        base_get = handler.func.do_GET

        def do_GET(handler_self):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            base_get(handler_self)

        handler.func.do_GET = do_GET


@pytest.mark.parametrize("kind", ["archive", "file"])
def test_concurrent_fetches_of_one_file_all_succeed(env, tmp_path, kind):
    """8 processes fetch the same data set at once from a local server: all get the verified file."""
    import multiprocessing

    workers = 8
    www = tmp_path / "www_concurrent"
    www.mkdir()
    text = ("a line of a movie review, long enough to take a moment to write .\n" * 20_000)
    if kind == "archive":
        make_archive(www / "mr.tar.gz", {"mr/mr.pos": text.encode("latin-1"),
                                         "mr/mr.neg": b"another member .\n"})
        fields = dict(file="mr/mr.pos", url=None, known_hash=sha256(text.encode()),
                      description="a toy archive member", member="mr/mr.pos")
        path = "/mr.tar.gz"
    else:
        (www / "toy.txt").write_bytes(text.encode())
        fields = dict(file="toy.txt", url=None, known_hash=sha256(text.encode()), description="a toy")
        path = "/toy.txt"
    srv = GatedServer(www, workers)
    rounds = 3  # the race is a matter of timing: a few rounds make the old cache fail reliably
    try:
        fields["url"] = srv.url + path
        # fork where it is safe (Linux): 8 spawned children would each import torch again (seconds
        # apiece) before the first request; the gated server makes the downloads overlap either way
        ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        with ctx.Pool(workers) as pool:
            results = [pool.map_async(_fetch_in_child, [("toy_concurrent", fields, str(env / f"cache{r}"))]
                                      * workers).get(timeout=120) for r in range(rounds)]
    finally:
        srv.stop()
    for r in range(rounds):
        errors = [res[1] for res in results[r] if res[0] != "ok"]
        assert not errors, errors
        expected = env / f"cache{r}" / fields["file"]
        assert {res[1] for res in results[r]} == {str(expected)}
        assert {res[2] for res in results[r]} == {hashlib.sha256(text.encode()).hexdigest()}
        leftovers = [p.name for p in expected.parent.iterdir() if p.name not in (expected.name, "mr.neg")]
        assert leftovers == []  # no temporary files left behind


def test_relative_offline_folder_resolves_against_repository_root_from_a_lab_folder(env, monkeypatch):
    """SEQLIB_DATA_DIR=../shared/data set at the repository root still works when a lab runs in labs/."""
    root = Path(data.__file__).resolve().parents[1]
    offline = env / "offline"
    offline.mkdir()
    (offline / "toy.txt").write_bytes(TEXT)
    register(monkeypatch, dead_url())
    monkeypatch.setenv("SEQLIB_DATA_DIR", os.path.relpath(offline, root))
    (env / "elsewhere").mkdir()
    monkeypatch.chdir(env / "elsewhere")  # like a lab running in labs/
    assert data.fetch("toy").resolve() == (offline / "toy.txt").resolve()
    monkeypatch.chdir(root)
    assert data.fetch("toy").resolve() == (offline / "toy.txt").resolve()


def test_relative_offline_folder_error_shows_the_absolute_paths_tried(env, monkeypatch):
    register(monkeypatch, dead_url())
    (env / "lab").mkdir()
    monkeypatch.chdir(env / "lab")
    monkeypatch.setenv("SEQLIB_DATA_DIR", "../no_such_data")
    with pytest.raises(data.DataNotAvailableError) as info:
        data.fetch("toy")
    msg = str(info.value)
    assert "SEQLIB_DATA_DIR=../no_such_data" in msg
    assert str(env / "no_such_data") in msg  # resolved against the current folder
    root = Path(data.__file__).resolve().parents[1]
    assert os.path.normpath(root / "../no_such_data") in msg  # and against the repository root


def test_cache_folder_that_is_a_file_is_named_not_blamed_on_the_network(env, monkeypatch, server):
    (server.root / "toy.txt").write_bytes(TEXT)
    register(monkeypatch, server.url + "/toy.txt")
    not_a_folder = env / "cache_is_a_file"
    not_a_folder.write_text("oops")
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(not_a_folder))
    with pytest.raises(data.DataNotAvailableError) as info:
        data.fetch("toy")
    msg = str(info.value)
    assert f"cache folder {not_a_folder}" in msg and "not a folder" in msg
    assert "SEQLIB_CACHE_DIR" in msg and "download" not in msg.split("\n")[0].lower()
    assert server.requests == []  # the network was not even tried


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can write into a read-only folder")
def test_read_only_cache_folder_is_named_not_blamed_on_the_network(env, monkeypatch, server):
    (server.root / "toy.txt").write_bytes(TEXT)
    register(monkeypatch, server.url + "/toy.txt")
    cache = env / "cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        with pytest.raises(data.DataNotAvailableError) as info:
            data.fetch("toy")
    finally:
        cache.chmod(0o755)
    msg = str(info.value)
    assert f"cache folder {cache}" in msg and "not writable" in msg
    assert server.requests == []


def test_unwritable_cache_folder_is_named_not_blamed_on_the_network(env, monkeypatch, server):
    """The read-only case as root too: creating the probe file fails with PermissionError."""
    (server.root / "toy.txt").write_bytes(TEXT)
    register(monkeypatch, server.url + "/toy.txt")
    (env / "cache").mkdir()
    real_mkstemp = data.tempfile.mkstemp

    def read_only_mkstemp(*args, dir=None, **kw):
        if dir is not None and Path(dir) == env / "cache":
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kw)

    monkeypatch.setattr(data.tempfile, "mkstemp", read_only_mkstemp)
    with pytest.raises(data.DataNotAvailableError) as info:
        data.fetch("toy")
    msg = str(info.value)
    assert f"cache folder {env / 'cache'}" in msg and "not writable" in msg
    assert server.requests == []


def test_timemachine_plain_http_address_is_documented():
    ds = data.REGISTRY["timemachine"]
    if ds.url.startswith("http://"):
        assert "checksum" in ds.description and "http" in ds.description


# --- issue 14: Tiny Shakespeare (Day 6) ---------------------------------------------------------------

SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
HAVE_SHAKESPEARE = bool(MIRROR) and (Path(MIRROR) / "tinyshakespeare.txt").is_file()
needs_shakespeare = pytest.mark.skipif(not HAVE_SHAKESPEARE, reason="set SEQLIB_DATA_DIR to the offline mirror "
                                       "(e.g. /work/shared/data) to check the real Tiny Shakespeare file")


def shakespeare_offline(monkeypatch, url: str | None = None) -> data.Dataset:
    """The real registry entry, its canonical address replaced (by a dead one unless ``url``): no test
    ever contacts the internet."""
    import dataclasses

    ds = dataclasses.replace(data.REGISTRY["tinyshakespeare"], url=url or dead_url("input.txt"))
    monkeypatch.setitem(data.REGISTRY, "tinyshakespeare", ds)
    return ds


def test_tinyshakespeare_entry_pins_the_char_rnn_file_and_its_sha256():
    ds = data.REGISTRY["tinyshakespeare"]
    assert ds.file == "tinyshakespeare.txt" and ds.member is None
    assert ds.url == ("https://raw.githubusercontent.com/karpathy/char-rnn/"
                      "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt")
    assert ds.known_hash == f"sha256:{SHAKESPEARE_SHA256}"


def test_tinyshakespeare_corrupt_offline_copy_is_a_checksum_error(env, monkeypatch):
    offline = env / "offline"
    offline.mkdir()
    truncated = b"First Citizen:\nBefore we proceed any further, hear me speak.\n"
    (offline / "tinyshakespeare.txt").write_bytes(truncated)
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(offline))
    ds = shakespeare_offline(monkeypatch)
    with pytest.raises(data.ChecksumError) as info:
        data.fetch("tinyshakespeare")  # a corrupt offline copy is an error, never silently replaced
    msg = str(info.value)
    assert str(offline / "tinyshakespeare.txt") in msg and ds.url in msg
    assert SHAKESPEARE_SHA256 in msg and sha256(truncated) in msg
    assert (offline / "tinyshakespeare.txt").read_bytes() == truncated  # left alone
    assert not (env / "cache").exists()


def test_tinyshakespeare_without_copy_or_network_explains_the_fix(env, monkeypatch):
    ds = shakespeare_offline(monkeypatch)
    with pytest.raises(data.DataNotAvailableError) as info:
        data.read_text("tinyshakespeare")
    msg = str(info.value)
    assert "'tinyshakespeare' (tinyshakespeare.txt)" in msg and ds.url in msg
    assert "SEQLIB_DATA_DIR is not set" in msg and "export SEQLIB_DATA_DIR=/path/to/folder" in msg


def test_tinyshakespeare_tampered_download_is_rejected(env, monkeypatch, server):
    (server.root / "input.txt").write_bytes(b"To be, or not to be: that is the question.\n")
    shakespeare_offline(monkeypatch, server.url + "/input.txt")
    with pytest.raises(data.DataNotAvailableError, match="tinyshakespeare.txt"):
        data.fetch("tinyshakespeare")
    assert not (env / "cache" / "tinyshakespeare.txt").exists()


@needs_shakespeare
def test_tinyshakespeare_offline_copy_is_used_as_is(env, monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", MIRROR)
    shakespeare_offline(monkeypatch)
    assert data.fetch("tinyshakespeare").resolve() == (Path(MIRROR) / "tinyshakespeare.txt").resolve()
    assert not (env / "cache").exists()  # nothing downloaded or cached


@needs_shakespeare
def test_tinyshakespeare_download_is_verified_cached_and_then_works_offline(env, monkeypatch, server):
    raw = (Path(MIRROR) / "tinyshakespeare.txt").read_bytes()
    (server.root / "input.txt").write_bytes(raw)
    shakespeare_offline(monkeypatch, server.url + "/input.txt")
    path = data.fetch("tinyshakespeare")
    assert path == env / "cache" / "tinyshakespeare.txt" and path.read_bytes() == raw
    server.stop()
    assert data.fetch("tinyshakespeare") == path and server.requests == ["/input.txt"]


@needs_shakespeare
def test_tinyshakespeare_real_file_and_the_nanogpt_split(monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", MIRROR)
    text = data.read_text("tinyshakespeare")
    assert len(text) == 1_115_394 and len(set(text)) == 65 and len(text.splitlines()) == 40_000
    cut = int(0.9 * len(text))  # nanoGPT's split: the first 90% for training, the rest for validation
    assert (cut, len(text) - cut) == (1_003_854, 111_540)
    assert set(text[cut:]) <= set(text[:cut])  # no character is seen only in validation


# --- issues 16 and 17: UD English LinES 2.17 (Day 8) and Multi30k (Day 9) ------------------------------

NEW_FILES = {  # name: (file in the mirror, line count, sha256 as the mirror's README lists it)
    "ud-english-lines-train": ("ud-english-lines/en_lines-ud-train.conllu", 75754,
                               "27609ded288bf3704def21f18d227e3f40957b4981174411f6bed34acf3025b6"),
    "ud-english-lines-test": ("ud-english-lines/en_lines-ud-test.conllu", 23584,
                              "14c56b50da6d8876ce1fdaa9b19c2845dfff73ff57766ddc2f812d88612ce3a8"),
    "multi30k-train.de": ("multi30k/train.de.gz", 29000,
                          "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"),
    "multi30k-test_2016_flickr.en": ("multi30k/test_2016_flickr.en.gz", 1000,
                                     "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"),
}


def test_every_split_of_the_new_data_sets_has_an_entry():
    names = set(data.REGISTRY)
    assert {f"ud-english-lines-{s}" for s in ("train", "dev", "test")} <= names
    assert {f"multi30k-{p}.{l}" for p in ("train", "val", "test_2016_flickr") for l in ("de", "en")} <= names


@pytest.mark.parametrize("name", sorted(NEW_FILES))
def test_new_entries_pin_address_file_and_checksum(name):
    file, _, digest = NEW_FILES[name]
    ds = data.REGISTRY[name]
    assert ds.file == file and ds.member is None and ds.known_hash == f"sha256:{digest}"
    assert ds.url.startswith("https://raw.githubusercontent.com/") and ds.url.endswith(file.split("/")[1])
    assert ("r2.17" in ds.url) if name.startswith("ud") else ("c9be912dc05a3ebf9ae5bb5f7f58c1791cda43ab" in ds.url)


@pytest.mark.skipif(not MIRROR, reason="set SEQLIB_DATA_DIR to the offline mirror")
@pytest.mark.parametrize("name", sorted(NEW_FILES))
def test_new_files_read_from_the_offline_mirror_and_gzip_is_decompressed(name, env, monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", MIRROR)
    text = data.read_text(name)  # the env fixture's cache stays empty: nothing is downloaded
    assert not (env / "cache").exists()
    assert len(text.splitlines()) == NEW_FILES[name][1]
    if name.startswith("ud"):
        assert text.startswith("# newdoc") or text.startswith("# sent_id")
    else:
        assert "\x00" not in text and text.count("\n") == NEW_FILES[name][1]  # decompressed, one line each


def test_a_corrupt_gzip_copy_is_a_checksum_error_before_any_decompression(env, monkeypatch):
    offline = env / "offline"
    (offline / "multi30k").mkdir(parents=True)
    (offline / "multi30k" / "val.en.gz").write_bytes(b"not gzip at all")
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(offline))
    with pytest.raises(data.ChecksumError, match="val.en.gz"):
        data.read_text("multi30k-val.en")
