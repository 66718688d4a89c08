"""The ``jimnet`` command-line application (console script ``jimnet = jimnet.cli.main:app``).

Adding a command
----------------
Write it as a plain function in its own module ``jimnet/cli/<name>.py``, decorated with
:func:`jimnet.cli.common.handle_input_errors` (bad input → ``error: …`` on stderr, exit 2), with
typer ``Annotated`` parameters whose help states units and conventions, and writing outputs only
through :mod:`jimnet.io.atomic` (``--force`` to overwrite). Then register it below, in the
"Commands" section, with one line::

    from jimnet.cli.simulate import simulate
    app.command("simulate")(simulate)

Command modules never import this module, so there are no import cycles.
"""

from __future__ import annotations

from typing import Annotated

import typer

from jimnet import __version__
from jimnet.io.names import IMAGE_PATH_RULE

HELP = f"""Jim-Net: joint unsupervised alignment and clustering of cryo-ET subtomograms.

Conventions: volumes are MRC files (float32, voxel size in Å, cubic boxes; arrays indexed zyx);
particles are RELION STAR files (angles rlnAngleRot/Tilt/Psi in degrees, RELION ZYZ, rotating the
reference into the particle; shifts rlnOrigin{{X,Y,Z}}Angst in Å; rlnClassNumber 1-based; tilt
range jimnetTiltMin/Max in degrees, default -60/+60). {IMAGE_PATH_RULE}

Units: lengths the user types or reads are in Å unless the option name ends in -vox (voxels);
angles in degrees; resolutions in Å. Outputs of predict, average and refine share the names
class_NNN.mrc, class_NNN_half1/2.mrc and fsc_NNN.csv (NNN = rlnClassNumber, 1-based).
--symmetry C1|Cn|Dn|T|O|I (align, average, refine, predict): pose errors to the nearest symmetry
mate. Bad input: one-line error, exit status 2.
"""

app = typer.Typer(
    name="jimnet",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)


def _version_callback(value: bool) -> None:
    if value:
        print(f"jimnet {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the jimnet version and exit.",
        ),
    ] = False,
) -> None:
    """Jim-Net command-line tools."""


# ------------------------------------------------------------------------------------- Commands
# One line per command; each lives in its own module (see the module docstring).
from jimnet.cli.info import info  # noqa: E402

app.command("info")(info)

from jimnet.cli.align import align_command  # noqa: E402
from jimnet.cli.average import average_command  # noqa: E402
from jimnet.cli.benchmark import benchmark_command  # noqa: E402
from jimnet.cli.demo import demo  # noqa: E402
from jimnet.cli.eval2d import eval2d  # noqa: E402
from jimnet.cli.predict import predict_command  # noqa: E402
from jimnet.cli.refine import refine_command  # noqa: E402
from jimnet.cli.report import report_command  # noqa: E402
from jimnet.cli.simulate import simulate  # noqa: E402
from jimnet.cli.train import train  # noqa: E402
from jimnet.cli.train2d import train2d  # noqa: E402

app.command("align")(align_command)
app.command("average")(average_command)
app.command("benchmark")(benchmark_command)
app.command("demo")(demo)
app.command("eval2d")(eval2d)
app.command("predict")(predict_command)
app.command("report")(report_command)
app.command("refine")(refine_command)
app.command("simulate")(simulate)
app.command("train")(train)
app.command("train2d")(train2d)
