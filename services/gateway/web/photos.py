"""Before and after photos from the crew's tablet: what is accepted and how it is kept.

Only a real image (JPEG, PNG or WebP, as Pillow decodes it, whatever the file claims to be) of
at most MAX_PHOTO_BYTES and MAX_PIXELS is accepted; it is re-encoded as a JPEG with its
orientation applied and *no* metadata, so the EXIF block (GPS position, device, owner) never
reaches the disk. Embedded mode keeps the files under var/photos/<job>/; the job records the
reference through the tags service's assessment, as the API would.
"""
import io
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from shared.config import Setting
from shared.errors import ValidationFailed

MAX_PHOTO_BYTES_SETTING = Setting("LISA_PHOTO_MAX_BYTES", str(8 * 1024 * 1024),
                                  "largest photo a crew member may upload")
MAX_PIXELS = 40_000_000           # a decompression bomb is refused before it is decoded
LONGEST_SIDE = 2560               # enough to see a wall; a phone's 50 Mpx is not kept
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "MPO"})
KINDS = ("before", "after")


class PhotoRefused(ValidationFailed):
    code = "photo_refused"


def max_photo_bytes() -> int:
    return MAX_PHOTO_BYTES_SETTING.integer()


def clean_photo(data: bytes) -> bytes:
    """The photo as a metadata-free JPEG, or PhotoRefused saying why not (an English message
    id; the page shows it in the user's language)."""
    if not data:
        raise PhotoRefused("Choose a photo to upload.", {"photo": ["Choose a photo to upload."]})
    if len(data) > max_photo_bytes():
        raise PhotoRefused("The photo is too large.", {"photo": ["The photo is too large."]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise UnidentifiedImageError(probe.format)
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoRefused("The photo is too large.",
                                   {"photo": ["The photo is too large."]})
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
            out = io.BytesIO()
            upright.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError):
        raise PhotoRefused("This file is not a photo (JPEG, PNG or WebP).",
                           {"photo": ["This file is not a photo (JPEG, PNG or WebP)."]}) \
            from None
    return out.getvalue()


def reference_for(job_id: int, kind: str) -> str:
    if kind not in KINDS:
        raise PhotoRefused("Say whether the photo is before or after the removal.",
                           {"kind": ["Say whether the photo is before or after the removal."]})
    return f"photos/{int(job_id)}/{kind}-{uuid.uuid4().hex}.jpg"


def path_of(root: Path, reference: str) -> Path | None:
    """The file of a reference this module made, or None for anything else."""
    parts = reference.split("/")
    if len(parts) != 3 or parts[0] != "photos" or not parts[1].isdigit():
        return None
    kind, _, rest = parts[2].partition("-")
    if kind not in KINDS or not rest.endswith(".jpg") or len(rest) != 36 \
            or not all(c in "0123456789abcdef" for c in rest[:32]):
        return None
    return root / parts[0] / parts[1] / parts[2]
