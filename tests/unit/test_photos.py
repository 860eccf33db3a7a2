"""Photo type sniffing and the filesystem photo store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gridwatch.photos import FilesystemPhotoStore, sniff_image

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (WEBP, "image/webp"),
        (b"hello, this is text named photo.jpg", None),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"", None),
    ],
)
def test_sniff_goes_by_the_bytes(data: bytes, content_type: str | None) -> None:
    assert sniff_image(data) == content_type


def test_put_then_get_round_trips(tmp_path: Path) -> None:
    store = FilesystemPhotoStore(tmp_path / "photos")
    ref = store.put(PNG, "image/png")
    assert ref.startswith("photo:sha256:")
    assert store.get(ref) == (PNG, "image/png")
    # A fresh store over the same folder (another API worker, a restart) finds it too.
    assert FilesystemPhotoStore(tmp_path / "photos").get(ref) == (PNG, "image/png")


def test_the_same_bytes_give_the_same_reference_and_one_file(tmp_path: Path) -> None:
    store = FilesystemPhotoStore(tmp_path)
    jpeg = store.put(JPEG, "image/jpeg")
    assert store.put(JPEG, "image/jpeg") == jpeg
    png = store.put(PNG, "image/png")
    assert png != jpeg
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    digests = [ref.removeprefix("photo:sha256:") for ref in (jpeg, png)]
    assert files == sorted(
        [f"{digests[0][:2]}/{digests[0]}.jpg", f"{digests[1][:2]}/{digests[1]}.png"]
    )


def test_a_failed_write_leaves_neither_the_photo_nor_a_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FilesystemPhotoStore(tmp_path)

    def crash(_src: str, _dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        store.put(JPEG, "image/jpeg")
    monkeypatch.undo()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    ref = store.put(JPEG, "image/jpeg")
    assert store.get(ref) == (JPEG, "image/jpeg")


def test_a_half_written_temp_file_is_never_served(tmp_path: Path) -> None:
    store = FilesystemPhotoStore(tmp_path)
    ref = store.put(WEBP, "image/webp")
    digest = ref.rsplit(":", 1)[1]
    # What a process killed mid-write leaves: a temp file beside the photos, never a photo.
    (tmp_path / digest[:2] / ".tmp-x1y2z3").write_bytes(WEBP[:5])
    assert store.get(ref) == (WEBP, "image/webp")
    assert store.get("photo:sha256:" + "0" * 64) is None


@pytest.mark.parametrize(
    "ref",
    [
        "photo:sha256:../../../etc/passwd",
        "photo:sha256:" + "A" * 64,
        "photo:sha256:" + "a" * 63,
        "photo:sha256:" + "a" * 64 + "\n",
        "sha256:" + "a" * 64,
        "",
    ],
)
def test_malformed_references_are_unknown(tmp_path: Path, ref: str) -> None:
    assert FilesystemPhotoStore(tmp_path).get(ref) is None


def test_only_image_types_are_stored(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="text/plain"):
        FilesystemPhotoStore(tmp_path).put(b"hello", "text/plain")
    assert os.listdir(tmp_path) == []
