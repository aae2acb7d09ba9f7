"""Languages: French by default, Dutch and English (Brussels communes are bilingual), for the
web pages and for the messages of the API's JSON errors.

One Babel catalogue (`shared/translations/<lang>/LC_MESSAGES/messages.po`) whose message ids are
the English texts the code and the templates write. `make venv` compiles them to `.mo`
(`pybabel compile`); a catalogue found without its `.mo`, or with an older one, is compiled in
memory from its `.po` when first used, so a checkout that skipped the step still speaks every
language. A message no catalogue holds is answered as written (English), never dropped.
"""
import functools
import io
import re
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("fr", "nl", "en")
DEFAULT_LANGUAGE = "fr"
DIRECTORY = Path(__file__).parent / "translations"
DOMAIN = "messages"


@functools.cache
def translations(language: str) -> NullTranslations:
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    folder = DIRECTORY / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as source:
        catalogue = read_po(source, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(language: str, message: str) -> str:
    """`message` in `language`: its own entry in the catalogue, else the first entry with
    named placeholders it matches ("Length must be between 1 and 40." is "Length must be
    between %(min)s and %(max)s." with min=1, max=40), else `message` as it is."""
    catalogue = translations(language)
    translated = catalogue.gettext(message)
    if translated != message or "%(" in message:
        return translated
    for pattern, template in _templates(language):
        match = pattern.fullmatch(message)
        if match:
            try:
                return catalogue.gettext(template) % match.groupdict()
            except (KeyError, ValueError, TypeError):
                return message
    return message


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@functools.cache
def _templates(language: str) -> list[tuple[re.Pattern, str]]:
    """The catalogue's message ids with named placeholders, as patterns."""
    catalogue = translations(language)
    ids = getattr(catalogue, "_catalog", {}).keys()
    templates = []
    for message_id in ids:
        if isinstance(message_id, str) and _PLACEHOLDER.search(message_id):
            pieces = _PLACEHOLDER.split(message_id)
            regex = "".join(re.escape(piece) if index % 2 == 0 else f"(?P<{piece}>.+?)"
                            for index, piece in enumerate(pieces))
            templates.append((re.compile(regex, re.DOTALL), message_id))
    return templates


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The language to answer in: the user's explicit choice, else the best of the browser's
    `Accept-Language` we speak (q-values honoured), else French."""
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "")[:500].split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else DEFAULT_LANGUAGE


def translate_error(body: dict, language: str) -> dict:
    """An API error body (`{"code", "message", "fields"}`) with its message and field messages
    in `language`. Messages are the English texts the code raises; those the catalogue holds
    are translated, any other (one with a value formatted into it) is kept as it is."""
    translated = dict(body)
    translated["message"] = gettext(language, body.get("message", ""))
    if "fields" in body:
        translated["fields"] = _translate_fields(body["fields"], language)
    return translated


def _translate_fields(value, language: str):
    if isinstance(value, str):
        return gettext(language, value)
    if isinstance(value, list):
        return [_translate_fields(item, language) for item in value]
    if isinstance(value, dict):
        return {key: _translate_fields(item, language) for key, item in value.items()}
    return value
