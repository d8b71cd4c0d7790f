"""What every block of the town's settings shares: strict types, no unknown key, refusals in Italian.

A check that refuses a value raises :func:`refuse` with what is wrong and how
to fix it, both in Italian; ``town_problems`` turns it into a
:class:`~site_tools.content.problems.Problem` with the field and the line.
The types every block reuses (a non-empty text, an https address, an
e-mail address, a number of days, an amount in euro) are declared here once.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

#: The error type of every refusal written here (pydantic's own types get a generic Italian message).
REFUSED = "refused"


class Block(BaseModel):
    """A block of ``extra.town``: types are not coerced (``"12"`` is not a number), unknown keys are refused."""

    #: ``defer_build``: a model's validator is built the first time it validates, not at import; the urgent
    #: path validates the town's settings but never the site's identity, and pays only for what it uses.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class OrAlso:
    """In the JSON Schema, a setting that may also be written as ``alternative`` (a name alone, a yes or no)."""

    def __init__(self, alternative: dict[str, Any]):
        self.alternative = alternative

    def __get_pydantic_json_schema__(self, core: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"anyOf": [self.alternative, handler(core)]}


def refuse(message: str, fix: str) -> PydanticCustomError:
    """A refusal: ``message`` says what is wrong, ``fix`` how to correct it (both in Italian)."""
    return PydanticCustomError(REFUSED, "{message}", {"message": message, "fix": fix})


def _text(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise refuse("il campo è vuoto.", "scrivi un valore, oppure togli la riga se il campo non è obbligatorio.")
    return text


def _https(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc:
        raise refuse(f"«{value}» non è un indirizzo web sicuro.", "scrivi l'indirizzo completo con https://.")
    return value


def _web(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise refuse(f"«{value}» non è un indirizzo web.", "scrivi l'indirizzo completo con https://.")
    return value


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise refuse(f"«{value}» non è un indirizzo e-mail.", "scrivi un indirizzo come urp@comune.example.it.")
    return value


#: A text that is not blank, with its spaces and line breaks collapsed.
Text = Annotated[str, AfterValidator(_text)]
#: An address starting with https:// (what the site links to).
HttpsUrl = Annotated[Text, AfterValidator(_https), Field(json_schema_extra={"format": "uri", "pattern": "^https://"})]
#: An address starting with http:// or https://.
WebUrl = Annotated[Text, AfterValidator(_web), Field(json_schema_extra={"format": "uri", "pattern": "^https?://"})]
Email = Annotated[Text, AfterValidator(_email), Field(json_schema_extra={"format": "email"})]
#: A number of days to keep something: from one day to ten years.
Days = Annotated[int, Field(ge=1, le=3650)]
#: An amount in euro (an integer is accepted: ``300`` is 300.0).
Euro = Annotated[float, Field(ge=0)]


def matching(pattern: str, message: str, fix: str) -> tuple[AfterValidator, FieldInfo]:
    """A text that matches ``pattern`` (published in the JSON Schema), else ``message`` (``{}``: the value)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise refuse(message.format(value), fix)
        return value

    return AfterValidator(check), Field(json_schema_extra={"pattern": pattern})


#: A WhatsApp template's name, as Meta approved it.
Template = Annotated[
    str,
    *matching(
        r"^[a-z0-9_]+$",
        "il nome del modello WhatsApp «{}» non è valido.",
        "usa lettere minuscole, cifre e trattini bassi, come il modello approvato da Meta.",
    ),
]
#: A name in an address: lower case letters without accents, digits and hyphens.
Slug = Annotated[
    str,
    *matching(
        r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        "«{}» non è un nome valido.",
        "usa solo lettere minuscole senza accenti, cifre e trattini, per esempio «protezione-civile».",
    ),
]
