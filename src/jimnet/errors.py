"""User-facing error type: one line naming the file/row, exit code 2 in the CLI."""


class JimnetInputError(ValueError):
    """Bad user input (missing/corrupt file, NaN voxels, missing STAR column, impossible parameter).

    The message is a single line that names the offending file and, where relevant, the row.
    The CLI prints it and exits with status 2 without writing partial outputs.
    """
