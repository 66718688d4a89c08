"""``python -m jimnet`` (also what ``torchrun -m jimnet train …`` runs)."""

from jimnet.cli.main import app

app(prog_name="jimnet")
