"""The ``citydata`` command line: thin commands over the services; errors print one line."""

from __future__ import annotations

import logging
import signal
import sys
import warnings
from pathlib import Path

import typer
from typer import _click as click

from citydata.commands import access, catalog, circulation, connect, pipeline, portal_users, quality, sources, synth
from citydata.commands.common import err_console
from citydata.errors import CityDataError

app = typer.Typer(help="citydata — a city data bureau's platform on one machine.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.command()(pipeline.demo)
app.command()(pipeline.portal)
app.command()(synth.synth)
app.command()(quality.resolution)
app.command()(quality.gate)
app.command()(quality.quarantine)
app.command("connectors")(sources.connectors_cmd)
app.command()(sources.probe)
app.add_typer(connect.connect_app, name="connect")
app.add_typer(connect.dlq_app, name="dlq")
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(circulation.audit_app, name="audit")
app.add_typer(access.access_app, name="access")
app.add_typer(portal_users.portal_user_app, name="portal-user")
app.command("trace-leak")(circulation.trace_leak)
app.command()(circulation.classify)


def _quiet_libraries() -> None:
    for name in ("kafka", "great_expectations", "dbt", "urllib3", "py.warnings"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")


def _write_crash_log() -> Path:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="citydata-crash-", suffix=".log")
    with open(fd, "w", encoding="utf-8") as f:
        f.write(traceback.format_exc())
    return Path(path)


def _terminate(signum, frame) -> None:
    """SIGTERM takes the same path as Ctrl-C, so every service this run started is stopped."""
    raise KeyboardInterrupt


def main() -> None:
    _quiet_libraries()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(standalone_mode=False)
    except click.exceptions.ClickException as exc:  # usage errors: click's own one-line message
        exc.show()
        sys.exit(exc.exit_code)
    except typer.Abort:
        code = 130
    except CityDataError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted: every service this run started has been stopped")
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: one line for the user, the traceback to a file
        log = _write_crash_log()
        err_console.print(f"[red]internal error:[/] {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                          f" — traceback in {log}; please report it", highlight=False, soft_wrap=True)
        sys.exit(1)
    if code == 130:  # typer turns Ctrl-C into exit code 130 once the with-blocks have unwound
        err_console.print("interrupted: every service this run started has been stopped")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
