"""Fetch, verify and cache the course's data sets: ``fetch(name)`` (a path), ``read_text(name)`` (text).

Every copy is checked against its checksum, looked up in this order:

1. the offline folder ``$SEQLIB_DATA_DIR`` (never written to; a corrupt copy is an error; a relative
   path is tried from the current folder, then from the repository root, as a lab runs in ``labs/``);
2. the cache folder ``$SEQLIB_CACHE_DIR``, else ``pooch.os_cache("seqlib")`` (a corrupt copy is downloaded again);
3. the canonical address, downloaded into a unique temporary file, verified, moved into place atomically.

Archive members (Pang & Lee's MR, Latin-1/Windows-1252 originals) are checksummed and cached as UTF-8.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pooch

from seqlib.validation import one_of

__all__ = ["Dataset", "REGISTRY", "DataNotAvailableError", "ChecksumError",
           "fetch", "read_text", "cache_dir"]


class DataNotAvailableError(RuntimeError):
    """No verified copy of a data set could be found or downloaded."""


class ChecksumError(DataNotAvailableError):
    """A copy in the offline folder ``$SEQLIB_DATA_DIR`` does not match its checksum."""


@dataclass(frozen=True)
class Dataset:
    """One file of a data set: its relative ``file`` (offline and cache folders), canonical ``url`` (the
    file, or a ``.tar.gz`` holding it as ``member``), ``known_hash`` ``"alg:hexdigest"`` (of the UTF-8
    text for a member) and a ``description``."""

    file: str
    url: str
    known_hash: str
    description: str
    member: str | None = None


_MR_URL = "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
REGISTRY: dict[str, Dataset] = {
    "timemachine": Dataset(
        "timemachine.txt", "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
        "sha1:090b5e7e70c295757f55df93cb0a180b9691891a",
        "H. G. Wells, The Time Machine (public domain), from D2L's plain http address (the checksum verifies it)"),
    "rt-polarity.pos": Dataset(
        "rt-polaritydata/rt-polarity.pos", _MR_URL,
        "sha256:4134882974a28d0c7b5151256f0e33a6169984ee7372c279e673f1114f475d58",
        "Pang & Lee (2005) MR v1.0: 5,331 positive review snippets, one per line",
        member="rt-polaritydata/rt-polarity.pos"),
    "rt-polarity.neg": Dataset(
        "rt-polaritydata/rt-polarity.neg", _MR_URL,
        "sha256:2d11cfbc790f1cd96d78339f41ce53ced1efa83cd22d37d6788fa3fe3d17e2fd",
        "Pang & Lee (2005) MR v1.0: 5,331 negative review snippets, one per line",
        member="rt-polaritydata/rt-polarity.neg"),
    "tinyshakespeare": Dataset(
        "tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
        "data/tinyshakespeare/input.txt",
        "sha256:86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        "Tiny Shakespeare (1,115,394 characters, 65 distinct), the corpus of char-rnn (at a pinned commit)"),
    **{f"ud-english-lines-{split}": Dataset(
        f"ud-english-lines/en_lines-ud-{split}.conllu",
        f"https://raw.githubusercontent.com/UniversalDependencies/UD_English-LinES/r2.17/en_lines-ud-{split}.conllu",
        f"sha256:{digest}",
        f"Universal Dependencies English LinES 2.17, {split} split ({size}), CoNLL-U, CC BY-NC-SA 4.0")
       for split, digest, size in (
           ("train", "27609ded288bf3704def21f18d227e3f40957b4981174411f6bed34acf3025b6", "3,457 sentences"),
           ("dev", "3aabd1f843517fb615c8760c316a76125af2fff01c59b9a4049fe7c393891d2b", "1,118 sentences"),
           ("test", "14c56b50da6d8876ce1fdaa9b19c2845dfff73ff57766ddc2f812d88612ce3a8", "1,121 sentences"))},
    **{f"multi30k-{part}.{lang}": Dataset(
        f"multi30k/{part}.{lang}.gz",
        "https://raw.githubusercontent.com/multi30k/dataset/c9be912dc05a3ebf9ae5bb5f7f58c1791cda43ab/"
        f"data/task1/raw/{part}.{lang}.gz",
        f"sha256:{digest}",
        f"Multi30k task 1 (Elliott et al. 2016), {part}, {lang}: {size} image descriptions, one per line, gzip")
       for part, lang, digest, size in (
           ("train", "de", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6", "29,000"),
           ("train", "en", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f", "29,000"),
           ("val", "de", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a", "1,014"),
           ("val", "en", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28", "1,014"),
           ("test_2016_flickr", "de", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8", "1,000"),
           ("test_2016_flickr", "en", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9", "1,000"))},
    **{f"wnut17-{split}": Dataset(
        f"wnut17/{file}",
        f"https://raw.githubusercontent.com/leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603/{file}",
        f"sha256:{digest}",
        f"WNUT 2017 emerging entities (Derczynski et al. 2017), {split} ({size}), word<TAB>BIO tag, CC BY 4.0")
       for split, file, digest, size in (
           ("train", "wnut17train.conll", "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5",
            "3,394 sentences"),
           ("dev", "emerging.dev.conll", "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8",
            "1,009 sentences"),
           ("test", "emerging.test.annotated", "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0",
            "1,287 sentences"))},
    "aclImdb": Dataset(
        "aclImdb_v1.tar.gz", "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        "md5:7c2ac02c03563afcf9b574c7e56c153a",
        "Maas et al. (2011) IMDb reviews v1.0: 25,000 training and 25,000 test, half positive (84 MB)"),
}


def cache_dir() -> Path:
    """The cache folder: ``$SEQLIB_CACHE_DIR`` if set, else ``pooch.os_cache("seqlib")``."""
    return Path(os.environ.get("SEQLIB_CACHE_DIR") or pooch.os_cache("seqlib")).expanduser()


def fetch(name: str) -> Path:
    """Path of a verified local copy of data set ``name`` (a key of :data:`REGISTRY`).

    ``ValueError``: an unknown name; :class:`ChecksumError`: a corrupt copy in ``$SEQLIB_DATA_DIR``;
    :class:`DataNotAvailableError`: no verified copy to be had (the message says how to fix it).
    """
    return _fetch(name)[0]


def read_text(name: str) -> str:
    """The text of data set ``name`` (UTF-8; Latin-1/Windows-1252 archive originals decoded;
    a ``.gz`` file decompressed after its checksum is verified)."""
    path, verified = _fetch(name)
    return (gzip.decompress(verified) if path.name.endswith(".gz") else verified).decode("utf-8")


def _fetch(name: str) -> tuple[Path, bytes]:
    """``(path, verified bytes)``: :func:`fetch`, with the bytes it verified (read once, hashed once)."""
    ds = REGISTRY[one_of(name, "name", sorted(REGISTRY), hint="a name of seqlib.data.REGISTRY")]
    for folder in _offline_folders():
        path = folder / ds.file
        if path.is_file():
            verified, actual = _verify(path.read_bytes(), ds)
            if verified is None:
                raise ChecksumError(
                    f"{path} (found through SEQLIB_DATA_DIR) does not match its checksum: expected "
                    f"{ds.known_hash}, got {actual}. It is corrupt or another version; "
                    f"replace it with a fresh copy of {ds.url} (seqlib never modifies that folder), "
                    "or unset SEQLIB_DATA_DIR to download a copy into the cache.")
            return path, verified
    cached, corrupt = cache_dir() / ds.file, None
    if cached.is_file():
        verified, corrupt = _verify(cached.read_bytes(), ds)
        if verified is not None:
            return cached, verified
    _check_cache_folder(name, ds, cached.parent)
    try:
        if ds.member is None:  # pooch: a unique temporary file, moved into place once verified
            pooch.retrieve(ds.url, ds.known_hash, fname=cached.name, path=cached.parent)
        else:
            _download_from_archive(ds)
    except (OSError, ValueError, KeyError, tarfile.TarError) as err:
        raise DataNotAvailableError(_failure_message(name, ds, err, cached, corrupt)) from err
    return cached, cached.read_bytes()


def _offline_folders() -> list[Path]:
    """The absolute folders that ``$SEQLIB_DATA_DIR`` names, in lookup order (a relative path: from the
    current folder, then from the repository root when seqlib runs from a checkout)."""
    if not (raw := os.environ.get("SEQLIB_DATA_DIR")):
        return []
    offline, root = Path(raw).expanduser(), Path(__file__).resolve().parents[1]
    if offline.is_absolute():
        return [Path(os.path.normpath(offline))]
    folders = [Path(os.path.abspath(offline))]
    if (root / "pyproject.toml").is_file() and (root / "labs").is_dir():
        folders += [f for f in [Path(os.path.normpath(root / offline))] if f not in folders]
    return folders


def _offline_description() -> str:
    """How the failure message describes ``$SEQLIB_DATA_DIR``: its value and the absolute folders tried."""
    raw = os.environ.get("SEQLIB_DATA_DIR")
    tried = ", ".join(str(f) for f in _offline_folders())
    return f"it is not in the offline folder SEQLIB_DATA_DIR={raw} (looked in {tried})" if raw else \
        "SEQLIB_DATA_DIR is not set"


def _check_cache_folder(name: str, ds: Dataset, folder: Path) -> None:
    """Make sure a download can be stored in ``folder``, else say what is wrong with it (not a network problem)."""
    problem = next((f"{p} is not a folder (it is a file)" for p in [folder, *folder.parents]
                    if p.exists() and not p.is_dir()), None)
    if problem is None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=folder, prefix=".seqlib-write-test-")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            problem = (f"it cannot be created ({err.strerror or err})" if not folder.is_dir()
                       else f"it is not writable ({err.strerror or err})")
    if problem is not None:
        source = "SEQLIB_CACHE_DIR" if os.environ.get("SEQLIB_CACHE_DIR") else "the default cache location"
        raise DataNotAvailableError(
            f"Data set {name!r} ({ds.file}) is not available: {_offline_description()}, and it cannot be "
            f"cached: the cache folder {cache_dir()} (from {source}) is unusable: {problem}.\n"
            "To fix it, point SEQLIB_CACHE_DIR at a folder you can write to:\n"
            "    export SEQLIB_CACHE_DIR=/path/to/writable/folder\n"
            f"or put {ds.file} into a folder and point SEQLIB_DATA_DIR at it (nothing is written there).")


def _verify(raw: bytes, ds: Dataset) -> tuple[bytes | None, str]:
    """``(verified bytes or None, actual "alg:hexdigest")``; an archive member's text is checksummed as UTF-8
    (decoded as UTF-8, else Windows-1252, else Latin-1)."""
    alg, expected = ds.known_hash.split(":", 1)
    digests = []
    for encoding in [None] if ds.member is None else ["utf-8", "cp1252", "latin-1"]:  # latin-1 decodes any bytes
        try:
            data = raw if encoding is None else raw.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            continue
        digests.append(f"{alg}:{hashlib.new(alg, data).hexdigest()}")
        if digests[-1] == f"{alg}:{expected.lower()}":
            return data, digests[-1]
    return None, digests[0]


def _download_from_archive(ds: Dataset) -> None:
    """Download the archive at ``ds.url`` and cache every registered member of it (as UTF-8)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive.tar.gz"
        pooch.get_logger().info("Downloading data from '%s'.", ds.url)
        pooch.HTTPDownloader()(ds.url, str(archive), None)
        with tarfile.open(archive) as tar:
            for sib in [d for d in REGISTRY.values() if d.url == ds.url and d.member]:
                member = tar.extractfile(sib.member)  # KeyError if the archive lacks it
                verified, actual = _verify(member.read() if member else b"", sib)
                if verified is not None:
                    _write_atomic(cache_dir() / sib.file, verified)
                elif sib is ds:
                    raise ValueError(f"{ds.member} in the downloaded archive does not match its "
                                     f"checksum: expected {ds.known_hash}, got {actual}")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a uniquely named temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _failure_message(name: str, ds: Dataset, err: Exception, cached: Path, corrupt: str | None) -> str:
    if corrupt:
        problem = (f"The cached copy {cached} is corrupt (expected {ds.known_hash}, got {corrupt}) "
                   f"and downloading a fresh copy from {ds.url} failed: {err}")
    else:
        problem = f"{_offline_description()}, and downloading it from {ds.url} failed: {err}"
    how = f"download {ds.url} by hand, " + ("extract it" if ds.member else "save it")
    return (f"Data set {name!r} ({ds.file}) is not available. {problem}\n"
            f"To fix it, either connect to the internet and call fetch({name!r}) again"
            + (" (that replaces the corrupt copy)" if corrupt else "") + ", or\n"
            f"{how} into a folder so that it holds {ds.file}, and point SEQLIB_DATA_DIR at it:\n"
            f"    export SEQLIB_DATA_DIR=/path/to/folder   # the folder containing {ds.file}\n"
            '(in a notebook: os.environ["SEQLIB_DATA_DIR"] = "/path/to/folder").')
