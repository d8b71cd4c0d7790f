"""click's own words in Italian: the usage line, the help page, its errors and its prompts.

click marks every text it prints for translation (``_("Usage:")``, gettext's
``ngettext`` for plurals) but picks the language from the environment
(``LANGUAGE``, ``LANG``…), which a town's PC or a CI runner sets to anything;
and it ships no Italian catalogue. So the catalogue is here, click's message
ids → Italian, and :func:`install` makes click's modules look their texts up
in it whatever the environment says. ``tests/test_cli_italian.py`` reads
click's source and fails when click gains a message this catalogue lacks.

The metavars click derives from types (``TEXT``, ``INTEGER``) are not
messages: :func:`install` renames the shared types, and :func:`adapt` gives
each command Italian placeholders for its options and subcommands.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

import click

#: click's modules that print to a person (``utils``: only programming errors).
MODULES = ("core", "exceptions", "types", "parser", "decorators", "formatting", "termui")

#: click's message id → Italian. The placeholders are click's own; a translation may drop ``!r``.
MESSAGES: dict[str, str] = {
    # The help page.
    "Usage:": "Uso:",
    "Options": "Opzioni",
    "Commands": "Comandi",
    "Positional arguments": "Argomenti",
    "Show this message and exit.": "Mostra questo aiuto ed esce.",
    "Show the version and exit.": "Mostra la versione ed esce.",
    "%(prog)s, version %(version)s": "%(prog)s, versione %(version)s",
    "env var: {var}": "variabile d'ambiente: {var}",
    "default: {default}": "predefinito: {default}",
    "required": "obbligatorio",
    "(dynamic)": "(calcolato)",
    "deprecated": "superato",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": (
        "Attenzione: il comando «{name}» è superato.{extra_message}"
    ),
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": (
        "Attenzione: «{name}» è superato.{extra_message}"
    ),
    "Choose from:\n\t{choices}": "Scegli tra:\n\t{choices}",
    "Choice({choices})": "Scelta({choices})",
    # Errors.
    "Error: {message}": "Errore: {message}",
    "Try '{command} {option}' for help.": "Per l'aiuto: «{command} {option}».",
    "Aborted!": "Interrotto.",
    "Missing command.": "Manca il comando.",
    "No such command {name!r}.": "Il comando «{name}» non esiste.",
    "No such option {name!r}.": "L'opzione «{name}» non esiste.",
    "Missing argument": "Manca l'argomento",
    "Missing option": "Manca l'opzione",
    "Missing parameter": "Manca il parametro",
    "Missing {param_type}": "Manca {param_type}",
    "Missing parameter: {param_name}": "Manca il parametro: {param_name}",
    "Invalid value: {message}": "Valore non valido: {message}",
    "Invalid value for {param_hint}: {message}": "Valore non valido per {param_hint}: {message}",
    "Could not open file {filename!r}: {message}": "Non riesco ad aprire il file «{filename}»: {message}",
    "unknown error": "errore sconosciuto",
    "Value must be an iterable.": "Il valore deve essere un elenco.",
    "Option {name!r} does not take a value.": "L'opzione «{name}» non vuole un valore.",
    "Argument {name!r} takes {nargs} values.": "L'argomento «{name}» vuole {nargs} valori.",
    "Invalid start character for option ({option})": "Carattere iniziale non valido per un'opzione ({option})",
    "{value} is not in the range {range}.": "{value} non è nell'intervallo {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "«{value}» non è né sì né no. Valori ammessi: {states}"
    ),
    "{value!r} is not a valid {number_type}.": "«{value}» non è un {number_type} valido.",
    "{value!r} is not a valid UUID.": "«{value}» non è un UUID valido.",
    "{name} {filename!r} does not exist.": "«{filename}» non esiste.",
    "{name} {filename!r} is a file.": "«{filename}» è un file, non una cartella.",
    "{name} {filename!r} is a directory.": "«{filename}» è una cartella, non un file.",
    "{name} {filename!r} is not readable.": "«{filename}» non si può leggere.",
    "{name} {filename!r} is not writable.": "«{filename}» non si può scrivere.",
    "{name} {filename!r} is not executable.": "«{filename}» non si può eseguire.",
    # A path's kind, also its metavar (FILE, CARTELLA, PERCORSO).
    "file": "file",
    "directory": "cartella",
    "path": "percorso",
    # Prompts.
    "Do you want to continue?": "Vuoi continuare?",
    "Confirm the action without prompting.": "Conferma senza chiedere.",
    "Repeat for confirmation": "Ripeti per conferma",
    "Error: The two entered values do not match.": "Errore: i due valori scritti sono diversi.",
    "Error: invalid input": "Errore: risposta non valida",
    "Press any key to continue...": "Premi un tasto per continuare…",
}

#: click's (singular, plural) message ids → Italian (singular, plural).
PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "Argomento in più non previsto ({args})",
        "Argomenti in più non previsti ({args})",
    ),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."): (
        "Vuole {nargs} valori ma ne è stato dato 1.",
        "Vuole {nargs} valori ma ne sono stati dati {len}.",
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        "Forse intendevi {possibility}?",
        "(Forse intendevi una di queste: {possibilities}?)",
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "«{value}» non è {choice}.",
        "«{value}» non è tra i valori ammessi: {choices}.",
    ),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."): (
        "«{value}» non è nel formato {format}.",
        "«{value}» non è in nessuno dei formati {formats}.",
    ),
    (
        "{len_type} values are required, but {len_value} was given.",
        "{len_type} values are required, but {len_value} were given.",
    ): (
        "Servono {len_type} valori, ma ne è stato dato {len_value}.",
        "Servono {len_type} valori, ma ne sono stati dati {len_value}.",
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "L'opzione «{name}» vuole un valore.",
        "L'opzione «{name}» vuole {nargs} valori.",
    ),
}

#: click's messages for programming errors (a command declared wrongly): a developer reads them, in English.
FOR_DEVELOPERS = frozenset(
    {
        "Could not determine name for option with declarations {decls!r}",
        "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? "
        "Did you mean to pass '--{name}'?",
        "Arguments take exactly one parameter declaration, got {length}: {decls}.",
        "Name '{name}' defined twice",
        "Boolean option {decl!r} cannot use the same flag for true/false.",
        "Unknown color {colour!r}",
    }
)

#: The names click turns into metavars (``TEXT``) and into «non è un numero valido».
TYPE_NAMES = {click.STRING: "testo", click.INT: "intero", click.FLOAT: "numero", click.BOOL: "sì/no"}
OPTIONS_METAVAR = "[OPZIONI]"
SUBCOMMAND_METAVAR = "COMANDO [ARGOMENTI]..."


def gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    one, many = PLURALS.get((singular, plural), (singular, plural))
    return one if n == 1 else many


def install() -> None:
    """click speaks Italian from now on, in this process (the ``site-tools`` command's, before its options)."""
    for name in MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    for kind, name in TYPE_NAMES.items():
        kind.name = name


def adapt(commands: Iterable[click.Command]) -> None:
    """Italian placeholders in the usage lines of ``commands`` and of their subcommands."""
    for command in commands:
        command.options_metavar = OPTIONS_METAVAR
        if isinstance(command, click.Group):
            command.subcommand_metavar = SUBCOMMAND_METAVAR
            adapt(command.commands.values())
