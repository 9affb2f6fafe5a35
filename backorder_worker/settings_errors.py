"""What is wrong with the settings, said for a person: the file, key or variable, and the fix.

`load_settings` raises `SettingsError` for what pydantic cannot see — a file that is not
TOML, a `BACKORDER_*` variable that names no setting — and pydantic's `ValidationError` for
values and unknown keys; `explain_validation_error` turns the latter into the same kind of
one-line sentence. Names are suggested with `difflib` ("did you mean …?").

The project reads a few `BACKORDER_*` variables that are not settings (`NOT_SETTINGS`, and
every `BACKORDER_TEST_*` of the test fixtures): they are never reported as unknown. A new
such variable must be added here, or every command refuses to start where it is set.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Final, Literal

from pydantic import BaseModel, ValidationError

ENV_PREFIX: Final = "BACKORDER_"
NOT_SETTINGS: Final = frozenset(
    {
        "BACKORDER_CONFIG",  # names the settings file
        "BACKORDER_FAULT_INJECT",  # the reliability tests' crash points (fault_points.py)
        "BACKORDER_TESTCONTAINERS",  # test fixtures: use Docker
        "BACKORDER_RELIABILITY_FIGURES",  # the reliability report's figures
    }
)
NOT_SETTINGS_PREFIXES: Final = ("BACKORDER_TEST_",)  # the test fixtures' service URLs
_SHAPE: Final = "settings are BACKORDER_<SECTION>__<KEY>, with two underscores"

Resolution = Literal["setting", "section", "unknown-key", "unknown"]


class SettingsError(Exception):
    """The settings cannot be loaded; the message names the file, key or variable."""


class SettingsFileNotFoundError(SettingsError, FileNotFoundError):
    """The settings file named by `--config` or `BACKORDER_CONFIG` does not exist."""


def setting_variables(model: type[BaseModel], prefix: str = ENV_PREFIX) -> Iterator[str]:
    """Every `BACKORDER_<SECTION>__<KEY>` name that sets one value of `model`."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from setting_variables(annotation, f"{prefix}{name.upper()}__")
        else:
            yield f"{prefix}{name.upper()}"


def resolve(name: str, model: type[BaseModel]) -> Resolution:
    """What a `BACKORDER_*` variable names in `model`: a setting, a whole section, an unknown
    key inside a known section (pydantic reports those), or nothing at all."""
    parts = name.upper().removeprefix(ENV_PREFIX).lower().split("__")
    current = model
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        field = current.model_fields.get(part)
        if field is None:
            return "unknown-key" if index > 0 and last else "unknown"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if last:
                return "section"
            current = annotation
        else:
            return "setting" if last else "unknown"
    return "unknown"


def is_not_a_setting(name: str) -> bool:
    upper = name.upper()
    return upper in NOT_SETTINGS or upper.startswith(NOT_SETTINGS_PREFIXES)


def reject_unknown_variables(environment: Mapping[str, str], model: type[BaseModel]) -> None:
    """Raises `SettingsError` for the first `BACKORDER_*` variable (by name) that names no
    setting of `model` — an unknown section, a section as a whole, a single underscore — so
    it cannot be ignored silently. An unknown key inside a known section is left to
    pydantic, which refuses it with the other values (`explain_validation_error`)."""
    unknown = sorted(
        name
        for name in environment
        if name.upper().startswith(ENV_PREFIX)
        and not is_not_a_setting(name)
        and resolve(name, model) in ("section", "unknown")
    )
    if not unknown:
        return
    name = unknown[0]
    more = f" ({len(unknown) - 1} more like it)" if len(unknown) > 1 else ""
    if resolve(name, model) == "section":
        raise SettingsError(
            f"environment variable {name} names a section, not a setting: set its keys, "
            f"e.g. {name.upper()}__<KEY>{more}"
        )
    raise SettingsError(
        f"environment variable {name} names no setting{_variable_hint(name, model)}{more}"
    )


def _variable_hint(name: str, model: type[BaseModel]) -> str:
    known = list(setting_variables(model))
    close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.85)
    if close:
        return f"; did you mean {close[0]}?"
    section = name.upper().removeprefix(ENV_PREFIX).lower().split("__")[0]
    if section not in model.model_fields:
        sections = difflib.get_close_matches(section, list(model.model_fields), n=1, cutoff=0.6)
        if sections:
            return f": there is no section [{section}]; did you mean [{sections[0]}]? ({_SHAPE})"
        return f": there is no section [{section}] ({_SHAPE})"
    return f" ({_SHAPE})"


def explain_validation_error(
    error: ValidationError,
    model: type[BaseModel],
    environment: Mapping[str, str],
    config_path: str | None,
) -> str:
    """The first problem of `error` in one line, naming the variable when the value came from
    the environment, else the file and the key; never the value (it may be a password)."""
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    loc = tuple(str(part) for part in first["loc"])
    variable = ENV_PREFIX + "__".join(loc).upper()
    from_environment = variable in {name.upper() for name in environment}
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    if first["type"] == "extra_forbidden":
        if from_environment:
            hint = _variable_hint(variable, model)
            return f"environment variable {variable} names no setting{hint}{more}"
        what = "a setting" if len(loc) > 1 else "a section"
        return f"{_file_key(loc, config_path, model)} is not {what}{_key_hint(loc, model)}{more}"
    if from_environment:
        return f"environment variable {variable}: {message}{more}"
    return f"{_file_key(loc, config_path, model)}: {message}{more}"


def _file_key(loc: tuple[str, ...], config_path: str | None, model: type[BaseModel]) -> str:
    where = f"settings file {config_path}: " if config_path else ""
    if len(loc) == 1:  # a whole section (its own check failed) or a stray top-level key
        return f"{where}[{loc[0]}]" if loc[0] in model.model_fields else f"{where}{loc[0]}"
    return f"{where}[{'.'.join(loc[:-1])}] {loc[-1]}"


def _key_hint(loc: tuple[str, ...], model: type[BaseModel]) -> str:
    current = model
    for part in loc[:-1]:
        annotation = current.model_fields[part].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        current = annotation
    names = list(current.model_fields)
    if len(loc) == 1:
        names = [f"[{name}]" for name in names]
    close = difflib.get_close_matches(
        loc[-1] if len(loc) > 1 else f"[{loc[0]}]", names, n=1, cutoff=0.6
    )
    if close:
        return f"; did you mean {close[0]}?"
    return f"; {'the keys are' if len(loc) > 1 else 'the sections are'} {', '.join(names)}"
