"""What every command shares: the consoles and Settings read once, with one-line errors."""

from __future__ import annotations

from rich.console import Console

from citydata.errors import CityDataError

console = Console()
err_console = Console(stderr=True)


def settings_from_env(**overrides):
    from pydantic import ValidationError

    from citydata.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        e = exc.errors()[0]
        raise CityDataError(f"setting CITYDATA_{'__'.join(str(p).upper() for p in e['loc'])}: {e['msg']}") from None
    for key, value in overrides.items():
        if value is not None:
            section, _, field = key.partition("__")
            setattr(getattr(settings, section), field, value) if field else setattr(settings, key, value)
    return settings


