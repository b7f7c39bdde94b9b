"""`python -m dlgen ...` runs the command line, like the `dlgen` console script."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="dlgen")
